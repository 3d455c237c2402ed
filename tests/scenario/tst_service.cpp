#include "RawClient.h"
#include "ServerProcess.h"

#include <QSocketNotifier>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using namespace wingman::test;

namespace {

// The service manager's side of sd_notify: a datagram socket that collects every state message.
class NotifySocket
{
public:
    explicit NotifySocket(const QString &path)
        : m_path(path)
    {
        m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un address = {};
        address.sun_family = AF_UNIX;
        const QByteArray native = path.toLocal8Bit();
        if (m_fd < 0 || native.size() >= qsizetype(sizeof(address.sun_path)))
            return;
        std::memcpy(address.sun_path, native.constData(), size_t(native.size()));
        if (::bind(m_fd, reinterpret_cast<const sockaddr *>(&address), sizeof(address)) != 0)
            return;
        m_notifier = std::make_unique<QSocketNotifier>(m_fd, QSocketNotifier::Read);
        QObject::connect(m_notifier.get(), &QSocketNotifier::activated, [this] {
            char buffer[4096];
            const ssize_t got = ::recv(m_fd, buffer, sizeof(buffer), MSG_DONTWAIT);
            if (got > 0)
                m_messages << QString::fromUtf8(buffer, got);
        });
    }
    ~NotifySocket()
    {
        m_notifier.reset();
        if (m_fd >= 0)
            ::close(m_fd);
    }

    bool isValid() const { return m_notifier != nullptr; }
    QString path() const { return m_path; }
    const QStringList &messages() const { return m_messages; }
    // The first message carrying this NAME=value line, or empty.
    QString messageWith(const QString &line) const
    {
        for (const QString &message : m_messages) {
            if (message.split(u'\n').contains(line))
                return message;
        }
        return {};
    }

private:
    QString m_path;
    int m_fd = -1;
    std::unique_ptr<QSocketNotifier> m_notifier;
    QStringList m_messages;
};

} // namespace

class tst_Service : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void readyOnlyAfterReadyThenStoppingOnSigterm()
    {
        NotifySocket manager(m_dir.filePath(QStringLiteral("ready.sock")));
        QVERIFY(manager.isValid());
        ServerProcess server;
        server.setEnvironmentVariable(QStringLiteral("NOTIFY_SOCKET"), manager.path());
        server.start({ QStringLiteral("--storage"),
                         QStringLiteral("sqlite:") + m_dir.filePath(QStringLiteral("ready.db")),
                         QStringLiteral("--metrics-port"), QStringLiteral("0") },
            m_dir.path());
        QVERIFY2(server.waitForReady(), qPrintable(server.output()));

        QTRY_VERIFY_WITH_TIMEOUT(!manager.messageWith(QStringLiteral("READY=1")).isEmpty(), 10000);
        const QString ready = manager.messageWith(QStringLiteral("READY=1"));
        // The status names the ports the listeners got, which exist only once the node is ready.
        QVERIFY2(ready.contains(QStringLiteral("client port %1,").arg(server.port()))
                && ready.contains(QStringLiteral("node %1 serving").arg(server.nodeId()))
                && ready.contains(QStringLiteral("metrics port")),
            qPrintable(ready));
        QCOMPARE(manager.messages().filter(QStringLiteral("READY=1")).size(), 1);
        QVERIFY(manager.messageWith(QStringLiteral("STOPPING=1")).isEmpty());

        RawClient client;
        QVERIFY(client.connectTo(server.port()));
        QVERIFY(client.take(QStringLiteral("AUTH_REQUIRED")));
        QVERIFY2(server.terminate(), qPrintable(server.output()));
        QVERIFY(client.take(QStringLiteral("SHUTDOWN_PENDING")));
        QTRY_VERIFY_WITH_TIMEOUT(
            !manager.messageWith(QStringLiteral("STOPPING=1")).isEmpty(), 10000);
    }

    void failedStartupIsNeverReady()
    {
        QTcpServer occupier;
        QVERIFY(occupier.listen(QHostAddress::LocalHost, 0));
        NotifySocket manager(m_dir.filePath(QStringLiteral("fail.sock")));
        QVERIFY(manager.isValid());
        ServerProcess server;
        server.setEnvironmentVariable(QStringLiteral("NOTIFY_SOCKET"), manager.path());
        server.start({ QStringLiteral("--storage"), QStringLiteral("memory:"),
                         QStringLiteral("--port"), QString::number(occupier.serverPort()) },
            m_dir.path());
        QVERIFY(server.waitForExit());
        QCOMPARE(server.process().exitCode(), 1);
        QTRY_VERIFY_WITH_TIMEOUT(
            manager.messages().join(u'\n').contains(QStringLiteral("STATUS=startup failed: ")),
            10000);
        QVERIFY2(manager.messages().join(u'\n').contains(QString::number(occupier.serverPort())),
            qPrintable(manager.messages().join(u'|')));
        QVERIFY(manager.messageWith(QStringLiteral("READY=1")).isEmpty());
    }

private:
    QTemporaryDir m_dir;
};

QTEST_GUILESS_MAIN(tst_Service)
#include "tst_service.moc"
