#include "ConnectionFilterModel.h"
#include "ConnectionsModel.h"
#include "EventsModel.h"
#include "MainWindow.h"
#include "MembersModel.h"
#include "NodeMonitor.h"
#include "NodesModel.h"
#include "RawClient.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "cluster/ClusterModule.h"
#include "crdt/LwwRecord.h"
#include "protocol/MessageTypes.h"

#include <QAbstractItemView>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QImage>
#include <QJsonArray>
#include <QJsonObject>
#include <QSet>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

using namespace wingman;
using namespace wingman::monitor;
using namespace wingman::test;

namespace {

constexpr int kHeartbeatMs = 200;
// How long a wait for the feed may take on a loaded machine or in a sanitized build.
constexpr int kWaitMs = 20000;

ServerConfig monitoredConfig(const QString &nodeId = {})
{
    ServerConfig config = testConfig();
    config.metricsPort = 0;
    config.monitorFeedIntervalMs = 200;
    config.probeIntervalMs = kHeartbeatMs;
    config.clusterSecret = "monitor-test-cluster-secret";
    config.nodeId = nodeId;
    return config;
}

QByteArray token(const QString &user, const QStringList &roles = { QStringLiteral("USER") })
{
    return TestTokens::userToken(kTestSecret, user, roles);
}

QByteArray adminToken()
{
    return token(QStringLiteral("operator"), { QStringLiteral("ADMIN") });
}

QUrl metricsEndpoint(quint16 port)
{
    return QUrl(QStringLiteral("http://127.0.0.1:%1").arg(port));
}

std::unique_ptr<NodeMonitor> watch(const ServerCoordinator &server)
{
    auto monitor
        = std::make_unique<NodeMonitor>(metricsEndpoint(server.metricsPort()), adminToken());
    monitor->feed().setBackoff(100, 1000);
    monitor->start();
    return monitor;
}

QCborMap clientOp(const QString &id, const QString &key)
{
    protocol::ClientOp op;
    op.id = id;
    op.mapName = QStringLiteral("board");
    op.key = key;
    op.opType = protocol::OpType::Put;
    op.record = crdt::LwwRecord { QCborValue(id),
        { QDateTime::currentMSecsSinceEpoch(), 0, QStringLiteral("client-z") }, std::nullopt };
    return QCborMap { { QStringLiteral("type"), QStringLiteral("CLIENT_OP") },
        { QStringLiteral("payload"), op.toCbor() } };
}

int memberRow(const MembersModel &members, const QString &nodeId, const QString &state)
{
    const int row = members.rowOf(nodeId);
    return row >= 0 && members.rowAt(row).state == state ? row : -1;
}

// A TCP relay in front of a cluster port that can go silent: bytes are swallowed both ways while
// the sockets stay open, as with a hung peer.
class SilentRelay : public QObject
{
public:
    explicit SilentRelay(quint16 target)
        : m_target(target)
    {
        m_server.listen(QHostAddress::LocalHost, 0);
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *in = m_server.nextPendingConnection()) {
                auto *out = new QTcpSocket(in);
                out->connectToHost(QHostAddress::LocalHost, m_target);
                connect(in, &QTcpSocket::readyRead, out, [this, in, out] {
                    const QByteArray data = in->readAll();
                    if (!m_silent)
                        out->write(data);
                });
                connect(out, &QTcpSocket::readyRead, in, [this, in, out] {
                    const QByteArray data = out->readAll();
                    if (!m_silent)
                        in->write(data);
                });
            }
        });
    }
    quint16 port() const { return m_server.serverPort(); }
    void setSilent(bool silent) { m_silent = silent; }

private:
    QTcpServer m_server;
    quint16 m_target;
    bool m_silent = false;
};

} // namespace

class tst_Monitor : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void connectionsModelFollowsAuthStates()
    {
        auto server = startServer(monitoredConfig());
        QVERIFY(server);
        auto monitor = watch(*server);
        ConnectionsModel *model = monitor->connections();
        QHash<quint64, QSet<QString>> seen;
        const auto record = [&seen, model] {
            for (int row = 0; row < model->rowCount(); ++row)
                seen[model->rowAt(row).id].insert(model->rowAt(row).authState);
        };
        connect(model, &QAbstractItemModel::rowsInserted, this, record);
        connect(model, &QAbstractItemModel::dataChanged, this, record);
        connect(model, &QAbstractItemModel::modelReset, this, record);
        QTRY_COMPARE_WITH_TIMEOUT(monitor->feedState(), FeedClient::State::Connected, kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(monitor->status().nodeId, server->nodeId(), kWaitMs);

        RawClient alice;
        RawClient bob;
        RawClient pending;
        RawClient intruder;
        QVERIFY(alice.connectAndAuthenticate(server->port(), token(QStringLiteral("alice"))));
        QVERIFY(bob.connectAndAuthenticate(server->port(), token(QStringLiteral("bob"))));
        QVERIFY(pending.connectTo(server->port()));
        QVERIFY(intruder.connectTo(server->port()));
        QVERIFY(intruder.take(QStringLiteral("AUTH_REQUIRED")));
        intruder.sendAuth(TestTokens::userToken("a-wrong-secret", QStringLiteral("mallory")));

        QTRY_VERIFY_WITH_TIMEOUT(model->countIn(QStringLiteral("authenticated")) == 2
                && model->countIn(QStringLiteral("pending")) == 1,
            kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(std::any_of(seen.cbegin(), seen.cend(),
                                     [](const QSet<QString> &states) {
                                         return states.contains(QStringLiteral("failed"));
                                     }),
            kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(
            monitor->events()->countOf(QStringLiteral("auth-failure")), 1, kWaitMs);

        quint64 aliceId = 0;
        for (const ConnectionInfo &info : server->connections()) {
            if (info.principal.userId == u"alice")
                aliceId = info.id;
        }
        QVERIFY(aliceId != 0);
        const int aliceRow = model->rowOf(aliceId);
        QVERIFY(aliceRow >= 0);
        QCOMPARE(model->rowAt(aliceRow).user, QStringLiteral("alice"));
        QCOMPARE(model->rowAt(aliceRow).roles, QStringList { QStringLiteral("USER") });
        QVERIFY(model->rowAt(aliceRow).remoteAddress.startsWith(u"127.0.0.1"));

        alice.send(clientOp(QStringLiteral("1"), QStringLiteral("k")));
        QVERIFY(alice.takeAck());
        const quint64 aliceMessagesIn = server->connection(aliceId)->messagesIn;
        QVERIFY(aliceMessagesIn >= 2);
        QTRY_COMPARE_WITH_TIMEOUT(
            model->rowAt(model->rowOf(aliceId)).messagesIn, aliceMessagesIn, kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(monitor->status().opsApplied == 1, kWaitMs);

        alice.close();
        QTRY_COMPARE_WITH_TIMEOUT(model->rowOf(aliceId), -1, kWaitMs);
        QCOMPARE(model->countIn(QStringLiteral("authenticated")), 1);
        QVERIFY(stopServer(*server));
    }

    void filterAndSortConnections()
    {
        ConnectionsModel model;
        const auto connection = [](int id, const char *state, int bytesIn, int bytesOut) {
            return QJsonObject { { QStringLiteral("id"), id },
                { QStringLiteral("authState"), QLatin1String(state) },
                { QStringLiteral("bytesIn"), bytesIn }, { QStringLiteral("bytesOut"), bytesOut } };
        };
        model.reset(
            QJsonArray { connection(1, "authenticated", 10, 10), connection(2, "pending", 5000, 0),
                connection(3, "authenticated", 300, 900), connection(4, "failed", 1, 0) });
        ConnectionFilterModel proxy;
        proxy.setSourceModel(&model);
        proxy.sort(ConnectionsModel::TrafficColumn, Qt::DescendingOrder);
        const auto ids = [&proxy] {
            QList<quint64> result;
            for (int row = 0; row < proxy.rowCount(); ++row)
                result
                    << proxy.index(row, 0).data(ConnectionsModel::ConnectionIdRole).toULongLong();
            return result;
        };
        QCOMPARE(ids(), (QList<quint64> { 2, 3, 1, 4 }));
        proxy.setAuthStateFilter(QStringLiteral("authenticated"));
        QCOMPARE(ids(), (QList<quint64> { 3, 1 }));
        proxy.setAuthStateFilter(QStringLiteral("failed"));
        QCOMPARE(ids(), (QList<quint64> { 4 }));
        proxy.setAuthStateFilter(QString());
        QCOMPARE(proxy.rowCount(), 4);

        const QModelIndex failedAuth = model.index(3, ConnectionsModel::AuthColumn);
        const QModelIndex goodAuth = model.index(0, ConnectionsModel::AuthColumn);
        QCOMPARE(failedAuth.data().toString(), QStringLiteral("failed"));
        QVERIFY(failedAuth.data(Qt::ForegroundRole).value<QColor>()
            != goodAuth.data(Qt::ForegroundRole).value<QColor>());
        QVERIFY(failedAuth.data(Qt::BackgroundRole).value<QColor>().isValid());

        model.updateTraffic(QJsonArray {
            QJsonObject { { QStringLiteral("id"), 4 }, { QStringLiteral("bytesIn"), 1000000 } } });
        QCOMPARE(ids().first(), quint64(4));
        model.remove(2);
        QCOMPARE(ids(), (QList<quint64> { 4, 3, 1 }));
    }

    void membersModelShowsPeerDown()
    {
        auto server = startServer(monitoredConfig(QStringLiteral("node-home")));
        QVERIFY(server);
        auto monitor = watch(*server);
        QTRY_COMPARE_WITH_TIMEOUT(monitor->feedState(), FeedClient::State::Connected, kWaitMs);

        ServerConfig peerConfig = monitoredConfig(QStringLiteral("node-peer"));
        peerConfig.peers = { QStringLiteral("127.0.0.1:%1").arg(server->clusterPort()) };
        auto peer = startServer(peerConfig);
        QVERIFY(peer);
        QTRY_VERIFY_WITH_TIMEOUT(
            memberRow(*monitor->members(), QStringLiteral("node-peer"), QStringLiteral("up")) >= 0,
            kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(!peer->members().isEmpty()
                && peer->members().first().nodeId == u"node-home"
                && peer->members().first().state == cluster::LinkState::Up,
            kWaitMs);

        QVERIFY(stopServer(*peer));
        QTRY_VERIFY_WITH_TIMEOUT(
            memberRow(*monitor->members(), QStringLiteral("node-peer"), QStringLiteral("down"))
                >= 0,
            kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(
            monitor->events()->countOf(QStringLiteral("peer-down")) == 1, kWaitMs);
        QVERIFY(stopServer(*server));
    }

    void silentPeerIsDetectedByHeartbeat()
    {
        auto server = startServer(monitoredConfig(QStringLiteral("node-home")));
        QVERIFY(server);
        SilentRelay relay(server->clusterPort());
        ServerConfig peerConfig = monitoredConfig(QStringLiteral("node-hung"));
        peerConfig.peers = { QStringLiteral("127.0.0.1:%1").arg(relay.port()) };
        auto peer = startServer(peerConfig);
        QVERIFY(peer);
        const auto homeSees = [&server](cluster::LinkState state) {
            const auto members = server->members();
            return members.size() == 1 && members.first().nodeId == u"node-hung"
                && members.first().state == state;
        };
        QTRY_VERIFY_WITH_TIMEOUT(homeSees(cluster::LinkState::Up), kWaitMs);
        QSignalSpy changed(server.get(), &ServerCoordinator::membershipChanged);
        QElapsedTimer silence;
        silence.start();
        // The home node may redial the peer at once on the address the peer gossiped, so the
        // link can be down only for a moment: look at every change rather than poll.
        qint64 downAfterMs = -1;
        connect(server.get(), &ServerCoordinator::membershipChanged, this, [&] {
            if (downAfterMs < 0 && homeSees(cluster::LinkState::Down))
                downAfterMs = silence.elapsed();
        });
        relay.setSilent(true);
        QTRY_VERIFY_WITH_TIMEOUT(downAfterMs >= 0, kWaitMs);
        QVERIFY(downAfterMs >= 2 * kHeartbeatMs);
        QVERIFY(!changed.isEmpty());
        relay.setSilent(false);
        QTRY_VERIFY_WITH_TIMEOUT(homeSees(cluster::LinkState::Up), kWaitMs);
        QVERIFY(stopServer(*peer));
        QVERIFY(stopServer(*server));
    }

    void clusterPartShowsTableMembersAndReplication()
    {
        auto east = startServer(monitoredConfig(QStringLiteral("node-east")));
        QVERIFY(east);
        ServerConfig westConfig = monitoredConfig(QStringLiteral("node-west"));
        westConfig.peers = { QStringLiteral("127.0.0.1:%1").arg(east->clusterPort()) };
        auto west = startServer(westConfig);
        QVERIFY(west);
        auto eastMonitor = watch(*east);
        auto westMonitor = watch(*west);
        NodesModel nodes;
        nodes.addNode(eastMonitor.get());
        nodes.addNode(westMonitor.get());

        const auto shows = [](const NodeMonitor &monitor, const ServerCoordinator &node) {
            const cluster::PartitionTable &table = node.cluster()->table();
            const NodeMonitor::Status &status = monitor.status();
            return table.members().size() == 2 && status.tableVersion == table.version()
                && status.coordinator == table.coordinator()
                && status.partitionsOwned == table.ownedBy(node.nodeId())
                && status.clusterState == u"up";
        };
        QTRY_VERIFY_WITH_TIMEOUT(shows(*eastMonitor, *east) && shows(*westMonitor, *west), kWaitMs);
        QVERIFY(!nodes.disagreesOnTable(0) && !nodes.disagreesOnTable(1));
        QCOMPARE(nodes.index(0, NodesModel::TableColumn).data().toString(),
            QStringLiteral("v%1 by %2")
                .arg(east->cluster()->table().version())
                .arg(east->cluster()->table().coordinator()));
        QCOMPARE(nodes.index(0, NodesModel::PartitionsColumn).data().toString(),
            QStringLiteral("%1 / %2")
                .arg(eastMonitor->status().partitionsOwned)
                .arg(eastMonitor->status().partitionsBackup));

        // The member row of the other node: membership up, a measured round trip.
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                const int row = eastMonitor->members()->rowOf(QStringLiteral("node-west"));
                return row >= 0 && eastMonitor->members()->rowAt(row).membership == u"up"
                    && eastMonitor->members()->rowAt(row).rttMs >= 0;
            }(),
            kWaitMs);

        // A write on east is replicated to west, and both monitors count it.
        RawClient writer;
        QVERIFY(writer.connectAndAuthenticate(east->port(), token(QStringLiteral("erin"))));
        writer.send(clientOp(QStringLiteral("1"), QStringLiteral("tile")));
        QVERIFY(writer.takeAck());
        QTRY_VERIFY_WITH_TIMEOUT(eastMonitor->status().replicateChangesSent >= 1
                && westMonitor->status().replicateChangesReceived >= 1,
            kWaitMs);
        QCOMPARE(eastMonitor->status().acksDegraded, quint64(0));
        const int westRow = eastMonitor->members()->rowOf(QStringLiteral("node-west"));
        QVERIFY(eastMonitor->members()
                    ->index(westRow, MembersModel::ReplicatedColumn)
                    .data()
                    .toString()
                    .startsWith(u'1'));

        // A node that is in no cluster with them has a table of its own: flagged.
        auto lone = startServer(monitoredConfig(QStringLiteral("node-lone")));
        QVERIFY(lone);
        auto loneMonitor = watch(*lone);
        nodes.addNode(loneMonitor.get());
        QTRY_VERIFY_WITH_TIMEOUT(nodes.disagreesOnTable(2) && nodes.disagreesOnTable(0), kWaitMs);
        QVERIFY(nodes.index(2, NodesModel::TableColumn).data(Qt::BackgroundRole).isValid());

        QVERIFY(stopServer(*lone));
        QVERIFY(stopServer(*west));
        QVERIFY(stopServer(*east));
    }

    void lostNodeReconnectsByItself()
    {
        auto server = startServer(monitoredConfig(QStringLiteral("node-first")));
        QVERIFY(server);
        const quint16 metricsPort = server->metricsPort();
        auto monitor = watch(*server);
        QTRY_COMPARE_WITH_TIMEOUT(monitor->status().nodeId, QStringLiteral("node-first"), kWaitMs);
        RawClient client;
        QVERIFY(client.connectAndAuthenticate(server->port(), token(QStringLiteral("carol"))));
        QTRY_COMPARE_WITH_TIMEOUT(monitor->connections()->rowCount(), 1, kWaitMs);

        QVERIFY(stopServer(*server));
        server.reset();
        QTRY_COMPARE_WITH_TIMEOUT(monitor->feedState(), FeedClient::State::Disconnected, kWaitMs);
        QCOMPARE(monitor->events()->countOf(QStringLiteral("feed-lost")), 1);

        ServerConfig again = monitoredConfig(QStringLiteral("node-second"));
        again.metricsPort = metricsPort;
        // The monitor keeps dialling the freed port; a dial from the ephemeral range can land on
        // that very port (a TCP self-connect) and hold it for a moment, so binding may need
        // another try.
        QTRY_VERIFY_WITH_TIMEOUT((server = startServer(again)) != nullptr, kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(monitor->feedState(), FeedClient::State::Connected, kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(monitor->status().nodeId, QStringLiteral("node-second"), kWaitMs);
        QCOMPARE(monitor->connections()->rowCount(), 0);
        QVERIFY(stopServer(*server));
    }

    void refusedTokenIsNotRetried()
    {
        auto server = startServer(monitoredConfig());
        QVERIFY(server);
        NodeMonitor monitor(metricsEndpoint(server->metricsPort()), token(QStringLiteral("dave")));
        monitor.feed().setBackoff(50, 100);
        monitor.start();
        QTRY_COMPARE_WITH_TIMEOUT(monitor.feedState(), FeedClient::State::Refused, kWaitMs);
        QVERIFY(monitor.feed().lastError().contains(u"ADMIN"));
        QCOMPARE(monitor.events()->countOf(QStringLiteral("feed-refused")), 1);
        QVERIFY(stopServer(*server));
    }

    void mainWindowRendersLiveData()
    {
        auto east = startServer(monitoredConfig(QStringLiteral("node-east")));
        QVERIFY(east);
        ServerConfig westConfig = monitoredConfig(QStringLiteral("node-west"));
        westConfig.peers = { QStringLiteral("127.0.0.1:%1").arg(east->clusterPort()) };
        auto west = startServer(westConfig);
        QVERIFY(west);

        MainWindow window;
        window.resize(1400, 900);
        NodeMonitor *eastMonitor
            = window.addNode(metricsEndpoint(east->metricsPort()), adminToken());
        NodeMonitor *westMonitor
            = window.addNode(metricsEndpoint(west->metricsPort()), adminToken());
        QCOMPARE(window.nodes().size(), 2);
        window.tabs()->setCurrentIndex(1);
        window.show();
        QTRY_COMPARE_WITH_TIMEOUT(eastMonitor->feedState(), FeedClient::State::Connected, kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(westMonitor->feedState(), FeedClient::State::Connected, kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(window.tabs()->tabText(1), QStringLiteral("node-east"), kWaitMs);

        std::vector<std::unique_ptr<RawClient>> writers;
        for (const char *user : { "alice", "bob", "carol" }) {
            writers.push_back(std::make_unique<RawClient>());
            QVERIFY(
                writers.back()->connectAndAuthenticate(east->port(), token(QLatin1String(user))));
        }
        RawClient pending;
        QVERIFY(pending.connectTo(east->port()));
        RawClient intruder;
        QVERIFY(intruder.connectTo(east->port()));
        QVERIFY(intruder.take(QStringLiteral("AUTH_REQUIRED")));
        intruder.sendAuth(TestTokens::userToken("a-wrong-secret", QStringLiteral("mallory")));

        int opId = 0;
        for (int round = 0; round < 20; ++round) {
            const qsizetype samples = eastMonitor->history().size();
            const int burst = 2 * (round % 5) + round;
            for (std::size_t w = 0; w <= std::size_t(round) % writers.size(); ++w) {
                for (int i = 0; i < burst; ++i) {
                    ++opId;
                    writers[w]->send(
                        clientOp(QString::number(opId), QStringLiteral("k%1").arg(opId % 7)));
                }
                for (int i = 0; i < burst; ++i)
                    QVERIFY(writers[w]->takeAck());
            }
            QTRY_VERIFY_WITH_TIMEOUT(eastMonitor->history().size() > samples, kWaitMs);
        }
        writers[0]->send(QCborMap { { QStringLiteral("type"), QStringLiteral("CLIENT_OP") },
            { QStringLiteral("payload"),
                QCborMap { { QStringLiteral("id"), QStringLiteral("bad") } } } });
        QVERIFY(writers[0]->take(QStringLiteral("OP_REJECTED")));
        QTRY_VERIFY_WITH_TIMEOUT(eastMonitor->connections()->rowCount() == 4
                && eastMonitor->events()->countOf(QStringLiteral("op-rejected")) == 1
                && eastMonitor->events()->countOf(QStringLiteral("auth-failure")) == 1
                && memberRow(
                       *eastMonitor->members(), QStringLiteral("node-west"), QStringLiteral("up"))
                    >= 0,
            kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(eastMonitor->status().uptimeMs > 0, kWaitMs);

        const QPixmap shot = window.grab();
        QCOMPARE(shot.size(), window.size() * shot.devicePixelRatio());
        // WINGMAN_MONITOR_SCREENSHOT=docs/monitor.png refreshes the README's picture.
        QTemporaryDir shots;
        const QString path = qEnvironmentVariable(
            "WINGMAN_MONITOR_SCREENSHOT", shots.filePath(QStringLiteral("monitor.png")));
        QVERIFY(QDir().mkpath(QFileInfo(path).absolutePath()));
        QVERIFY(shot.save(path, "PNG"));
        const QImage saved(path);
        QCOMPARE(saved.size(), shot.size());

        auto *overview = qobject_cast<QAbstractItemView *>(window.tabs()->widget(0));
        QVERIFY(overview);
        QCOMPARE(overview->model()->rowCount(), 2);
        QCOMPARE(overview->model()->index(0, NodesModel::NodeColumn).data().toString(),
            QStringLiteral("node-east"));
        QCOMPARE(overview->model()->index(1, NodesModel::FeedColumn).data().toString(),
            QStringLiteral("connected"));
        QVERIFY(stopServer(*west));
        QVERIFY(stopServer(*east));
    }
};

QTEST_MAIN(tst_Monitor)
#include "tst_monitor.moc"
