// Hostile and malformed input over real sockets, one table: each row is answered as
// docs/protocol.md says, the node stays up, a connected bystander still gets its events, and no
// stored record changes.
#include "RawClient.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "crdt/LwwMap.h"
#include "protocol/Frame.h"
#include "protocol/Messages.h"

#include <QCborArray>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonObject>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QtEndian>

using namespace wingman;
using namespace wingman::test;

namespace {

const QString kType = QStringLiteral("type");
const QString kPayload = QStringLiteral("payload");
const QString kSeeded = QStringLiteral("seeded");
const QString kCanary = QStringLiteral("canary");
// A string that a backtracking engine takes exponential time to refuse for (a+)+$.
const QString kEvilText = QString(40, u'a') + u'!';

// Who sends the row's input.
enum class Sender {
    Authenticated, // a signed-in client sends the frame
    Anonymous, // a client that has not authenticated sends the frame
    Silent, // a client that never authenticates and sends nothing
    RawSocket, // a bare TCP socket upgrades, then sends the frame as one WebSocket frame
};

QCborMap lwwOp(const QString &id, const QString &map, const QString &key, const QCborValue &value,
    qint64 millis)
{
    protocol::ClientOp op;
    op.id = id;
    op.mapName = map;
    op.key = key;
    op.opType = protocol::OpType::Put;
    op.record = crdt::LwwRecord { value, { millis, 0, QStringLiteral("client-x") }, std::nullopt };
    return op.toCbor();
}

QCborMap opBatch(const QCborArray &ops)
{
    return QCborMap { { kType, QStringLiteral("OP_BATCH") },
        { kPayload, QCborMap { { QStringLiteral("ops"), ops } } } };
}

QByteArray frame(const QCborMap &message)
{
    return protocol::Frame::encode(message);
}

// U+FFFD (EF BF BD) in the frame becomes FF FF FF, which is not UTF-8.
QByteArray withInvalidUtf8(const QCborMap &message)
{
    return frame(message).replace("\xef\xbf\xbd", "\xff\xff\xff");
}

QCborMap regexQuery(const QString &queryId, const QString &pattern)
{
    const QCborMap predicate { { QStringLiteral("op"), QStringLiteral("regex") },
        { QStringLiteral("attribute"), QStringLiteral("s") },
        { QStringLiteral("value"), pattern } };
    return QCborMap { { kType, QStringLiteral("QUERY_SUB") },
        { kPayload,
            QCborMap { { QStringLiteral("queryId"), queryId },
                { QStringLiteral("mapName"), kSeeded },
                { QStringLiteral("query"),
                    QCborMap { { QStringLiteral("predicate"), predicate } } } } } };
}

QByteArray authFrame(const QByteArray &token)
{
    return frame(QCborMap { { kType, QStringLiteral("AUTH") },
        { QStringLiteral("token"), QString::fromLatin1(token) } });
}

// A PUT whose value is an array nested depth deep.
QByteArray deeplyNested(int depth)
{
    QCborValue value(1);
    for (int i = 0; i < depth; ++i)
        value = QCborArray { value };
    return frame(opBatch({ lwwOp("1", kSeeded, "a", value, QDateTime::currentMSecsSinceEpoch()) }));
}

// A map whose one key claims to be a 2 GiB string, in a frame of a few bytes.
QByteArray lyingLength()
{
    QByteArray bytes("\x81\xdb", 2);
    const quint32 length = qToBigEndian<quint32>(0x7fffffff);
    bytes.append(reinterpret_cast<const char *>(&length), 4);
    bytes.append("type");
    return bytes;
}

QByteArray hugeBatch(int ops)
{
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    QCborArray array;
    for (int i = 0; i < ops; ++i)
        array.append(lwwOp(
            QString::number(i + 1), QStringLiteral("bulk"), QStringLiteral("k%1").arg(i), i, now));
    return frame(opBatch(array));
}

// Every stored row of a map, read from the SQLite file on a connection of the test's own.
QStringList storedRows(const QString &path, const QString &map)
{
    const QString name = QStringLiteral("tst_bad_input.rows");
    QStringList rows;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        db.setConnectOptions(QStringLiteral("QSQLITE_OPEN_READONLY"));
        if (db.open()) {
            QSqlQuery query(db);
            query.prepare(QStringLiteral("SELECT record_key, millis, counter, node_id, "
                                         "hex(value) FROM wingman_lww WHERE map_name = ? "
                                         "ORDER BY record_key"));
            query.addBindValue(map);
            if (query.exec()) {
                while (query.next()) {
                    QStringList columns;
                    for (int i = 0; i < 5; ++i)
                        columns << query.value(i).toString();
                    rows << columns.join(u'|');
                }
            }
        }
    }
    QSqlDatabase::removeDatabase(name);
    return rows;
}

// Upgrades a bare socket and sends one unmasked binary frame of payloadBytes; the code of the
// close frame the server answers with, -1 without one.
int oversizeFrameCloseCode(quint16 port, qint64 payloadBytes)
{
    QTcpSocket socket;
    QByteArray in;
    bool gone = false;
    QObject::connect(&socket, &QTcpSocket::readyRead, [&] { in += socket.readAll(); });
    QObject::connect(&socket, &QTcpSocket::disconnected, [&] { gone = true; });
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(5000))
        return -1;
    socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n");
    if (!QTest::qWaitFor([&] { return in.contains("\r\n\r\n"); }, 5000))
        return -1;
    in.remove(0, in.indexOf("\r\n\r\n") + 4);
    QByteArray header;
    header.append(char(0x82));
    header.append(char(127));
    const quint64 length = qToBigEndian<quint64>(quint64(payloadBytes));
    header.append(reinterpret_cast<const char *>(&length), 8);
    socket.write(header);
    socket.write(QByteArray(payloadBytes, 'x'));
    if (!QTest::qWaitFor([&] { return gone; }, 30000))
        return -1;
    // Frames the server sent: AUTH_REQUIRED, then the close frame.
    qsizetype at = 0;
    while (in.size() - at >= 2) {
        const int opcode = uchar(in.at(at)) & 0x0f;
        qsizetype size = uchar(in.at(at + 1)) & 0x7f;
        qsizetype headerBytes = 2;
        if (size == 126) {
            size = (uchar(in.at(at + 2)) << 8) | uchar(in.at(at + 3));
            headerBytes = 4;
        }
        if (opcode == 0x8 && size >= 2 && in.size() - at >= headerBytes + 2)
            return (uchar(in.at(at + headerBytes)) << 8) | uchar(in.at(at + headerBytes + 1));
        at += headerBytes + size;
    }
    return -1;
}

} // namespace

class tst_BadInput : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    std::unique_ptr<ServerCoordinator> m_server;
    std::unique_ptr<RawClient> m_bystander; // subscribed to kCanary
    std::unique_ptr<RawClient> m_canaryWriter;
    QStringList m_seededRows;
    int m_canaryWrites = 0;

    QString dbPath() const { return m_dir.filePath(QStringLiteral("node.db")); }

    std::unique_ptr<RawClient> signedIn(const QString &user)
    {
        auto client = std::make_unique<RawClient>();
        if (!client->connectAndAuthenticate(
                m_server->port(), TestTokens::userToken(kTestSecret, user), 10000))
            return nullptr;
        return client;
    }

    // Writes one record to kCanary and waits for the bystander's QUERY_UPDATE about it.
    bool bystanderHearsACanary()
    {
        const QString key = QStringLiteral("canary-%1").arg(++m_canaryWrites);
        m_canaryWriter->send(opBatch({ lwwOp(QString::number(m_canaryWrites), kCanary, key,
            m_canaryWrites, QDateTime::currentMSecsSinceEpoch()) }));
        if (!m_canaryWriter->take(QStringLiteral("OP_ACK"), 10000))
            return false;
        return QTest::qWaitFor(
            [&] {
                for (const QCborMap &message : m_bystander->inbox()) {
                    if (message.value(kType).toString() == u"QUERY_UPDATE"
                        && message.value(kPayload).toMap().value(QStringLiteral("key")).toString()
                            == key)
                        return true;
                }
                return false;
            },
            10000);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        ServerConfig config = testConfig();
        config.storage = QStringLiteral("sqlite:") + dbPath();
        config.authTimeoutMs = 1500;
        m_server = startServer(config, 10000);
        QVERIFY(m_server);

        auto seeder = signedIn(QStringLiteral("seeder"));
        QVERIFY(seeder);
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        seeder->send(opBatch({ lwwOp("1", kSeeded, "a", QCborMap { { "s", kEvilText } }, now),
            lwwOp("2", kSeeded, "b", QCborMap { { "s", QStringLiteral("plain") } }, now),
            lwwOp("3", kSeeded, "c", 3, now) }));
        QVERIFY(seeder->take(QStringLiteral("OP_ACK"), 10000));
        m_seededRows = storedRows(dbPath(), kSeeded);
        QCOMPARE(m_seededRows.size(), 3);

        m_canaryWriter = signedIn(QStringLiteral("canary-writer"));
        m_bystander = signedIn(QStringLiteral("bystander"));
        QVERIFY(m_canaryWriter && m_bystander);
        m_bystander->send(QCborMap { { kType, QStringLiteral("QUERY_SUB") },
            { kPayload,
                QCborMap { { QStringLiteral("queryId"), QStringLiteral("canary") },
                    { QStringLiteral("mapName"), kCanary },
                    { QStringLiteral("query"), QCborMap {} } } } });
        QVERIFY(m_bystander->take(QStringLiteral("QUERY_RESP"), 10000));
    }

    void cleanupTestCase()
    {
        m_bystander.reset();
        m_canaryWriter.reset();
        if (m_server)
            QVERIFY(stopServer(*m_server));
    }

    void answeredAsDocumented_data()
    {
        QTest::addColumn<Sender>("sender");
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<QString>("answer"); // the message type that answers; empty: none
        QTest::addColumn<int>("code"); // the answer's payload.code; 0: not checked
        QTest::addColumn<int>("closeCode"); // how the connection ends; 0: it stays open

        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        const QCborMap validBatch = opBatch({ lwwOp("1", kSeeded, "a", 99, now) });
        QJsonObject expired { { "sub", "late" }, { "roles", QJsonArray { "USER" } },
            { "iat", now / 1000 - 7200 }, { "exp", now / 1000 - 3600 } };

        // The defect classes.
        QTest::newRow("invalid UTF-8 key")
            << Sender::Authenticated
            << withInvalidUtf8(opBatch({ lwwOp("1", kSeeded, QStringLiteral("a\uFFFD"), 1, now) }))
            << "OP_REJECTED" << 400 << 0;
        QTest::newRow("invalid UTF-8 map name")
            << Sender::Authenticated
            << withInvalidUtf8(opBatch({ lwwOp("1", QStringLiteral("seeded\uFFFD"), "a", 1, now) }))
            << "OP_REJECTED" << 400 << 0;
        QTest::newRow("far-future clock")
            << Sender::Authenticated
            << frame(opBatch({ lwwOp("1", kSeeded, "a", 1, qint64(9e15)) })) << "OP_REJECTED" << 400
            << 0;
        QTest::newRow("catastrophic regex")
            << Sender::Authenticated << frame(regexQuery(QStringLiteral("evil"), "(a+)+$"))
            << "QUERY_RESP" << 0 << 0;
        QTest::newRow("regex with a backreference")
            << Sender::Authenticated << frame(regexQuery(QStringLiteral("backref"), "(a)\\1"))
            << "ERROR" << 400 << 0;
        QTest::newRow("unauthenticated hold") << Sender::Silent << QByteArray() << "" << 0 << 4001;
        QTest::newRow("oversize frame")
            << Sender::RawSocket << QByteArray::number(16LL * 1024 * 1024 + 1) << "" << 0 << 1009;
        // Inputs the node already refused before the issue.
        QTest::newRow("truncated MessagePack")
            << Sender::Authenticated << frame(validBatch).chopped(5) << "" << 0 << 1002;
        QTest::newRow("nesting beyond the depth limit")
            << Sender::Authenticated << deeplyNested(200) << "" << 0 << 1002;
        QTest::newRow("lying length header")
            << Sender::Authenticated << lyingLength() << "" << 0 << 1002;
        QTest::newRow("wrong field types")
            << Sender::Authenticated
            << frame(QCborMap { { kType, QStringLiteral("OP_BATCH") },
                   { kPayload,
                       QCborMap { { QStringLiteral("ops"), QStringLiteral("a string") } } } })
            << "ERROR" << 400 << 0;
        QTest::newRow("record of the wrong type")
            << Sender::Authenticated
            << frame(opBatch({ QCborMap { { QStringLiteral("id"), QStringLiteral("1") },
                   { QStringLiteral("mapName"), kSeeded },
                   { QStringLiteral("key"), QStringLiteral("a") },
                   { QStringLiteral("record"), 12 } } }))
            << "OP_REJECTED" << 400 << 0;
        QTest::newRow("unknown message type")
            << Sender::Authenticated
            << frame(QCborMap { { kType, QStringLiteral("NO_SUCH_TYPE") } }) << "ERROR" << 400 << 0;
        QTest::newRow("forged token")
            << Sender::Anonymous << authFrame(TestTokens::userToken("not-the-secret", "mallory"))
            << "AUTH_FAIL" << 0 << 4001;
        QTest::newRow("expired token")
            << Sender::Anonymous << authFrame(TestTokens::hs256(kTestSecret, expired))
            << "AUTH_FAIL" << 0 << 4001;
        QTest::newRow("unsigned token")
            << Sender::Anonymous
            << authFrame(TestTokens::withAlgNone(QJsonObject { { "sub", "mallory" } }))
            << "AUTH_FAIL" << 0 << 4001;
        QTest::newRow("write before AUTH")
            << Sender::Anonymous << frame(validBatch) << "" << 0 << 4001;
        QTest::newRow("100,000-op batch")
            << Sender::Authenticated << hugeBatch(100000) << "OP_ACK" << 0 << 0;
    }

    void answeredAsDocumented()
    {
        QFETCH(Sender, sender);
        QFETCH(QByteArray, input);
        QFETCH(QString, answer);
        QFETCH(int, code);
        QFETCH(int, closeCode);

        if (sender == Sender::RawSocket) {
            QCOMPARE(oversizeFrameCloseCode(m_server->port(), input.toLongLong()), closeCode);
        } else {
            std::unique_ptr<RawClient> client;
            if (sender == Sender::Authenticated) {
                client = signedIn(QStringLiteral("sender"));
                QVERIFY(client);
            } else {
                client = std::make_unique<RawClient>();
                QVERIFY(client->connectTo(m_server->port()));
                QVERIFY(client->take(QStringLiteral("AUTH_REQUIRED")));
            }
            if (!input.isEmpty())
                client->sendBinary(input);
            if (!answer.isEmpty()) {
                // An OP_BATCH is answered by an OP_ACK pair; takeAck checks and joins it.
                const auto reply
                    = answer == u"OP_ACK" ? client->takeAck(120000) : client->take(answer, 120000);
                QVERIFY2(reply, qPrintable(client->receivedTypes().join(u',')));
                if (code != 0)
                    QCOMPARE(
                        reply->value(kPayload).toMap().value(QStringLiteral("code")).toInteger(),
                        code);
                if (answer == u"OP_ACK") {
                    const QCborArray results
                        = reply->value(kPayload).toMap().value(QStringLiteral("results")).toArray();
                    QCOMPARE(results.size(), 100000);
                    QVERIFY(results.last().toMap().value(QStringLiteral("success")).toBool());
                }
            }
            if (closeCode != 0) {
                QVERIFY(client->waitForDisconnected(10000));
                QCOMPARE(client->closeCode(), closeCode);
            } else {
                // Still served: the next message is answered.
                client->send(QCborMap { { kType, QStringLiteral("PING") } });
                QVERIFY(client->take(QStringLiteral("PONG"), 10000));
            }
        }

        QCOMPARE(m_server->state(), ServerCoordinator::State::Ready);
        QVERIFY(signedIn(QStringLiteral("newcomer")));
        QVERIFY(bystanderHearsACanary());
        QCOMPARE(storedRows(dbPath(), kSeeded), m_seededRows);
        const crdt::LwwMap *seeded = m_server->getMap(kSeeded);
        QVERIFY(seeded);
        QCOMPARE(seeded->keys().size(), 3);
        QCOMPARE(seeded->get(QStringLiteral("c")), std::optional<QCborValue>(3));
    }
};

QTEST_GUILESS_MAIN(tst_BadInput)
#include "tst_bad_input.moc"
