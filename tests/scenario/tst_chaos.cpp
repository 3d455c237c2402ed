// Writes through a lossy network: a tenth of all messages, either way, never arrive.
#include "ChaosProxy.h"
#include "ServerFixture.h"
#include "TestTokens.h"
#include "client/SyncEngine.h"

#include <QTest>

using namespace wingman;
using namespace wingman::client;
using namespace wingman::test;

class tst_Chaos : public QObject
{
    Q_OBJECT

    ServerFixture m_server;

private Q_SLOTS:
    void init() { QVERIFY(m_server.start()); }
    void cleanup() { QVERIFY(m_server.stop()); }

    void everyPutArrivesDespiteLoss()
    {
        constexpr int kPuts = 50;
        const QString map = QStringLiteral("lossy");
        ChaosProxy proxy(m_server.url());
        QVERIFY(proxy.start());
        proxy.setSeed(20240601);
        proxy.setDropRate(0.1);
        proxy.setLatency(5, 5);

        SyncEngineConfig config;
        config.url = proxy.url();
        config.nodeId = QStringLiteral("chaos-client");
        config.reconnectBaseMs = 50;
        config.reconnectMaxMs = 500;
        config.authTimeoutMs = 1000;
        config.ackTimeoutMs = 500;
        config.heartbeatIntervalMs = 500;
        config.heartbeatTimeoutMs = 2500;
        config.maxBatchOps = 1; // one message per op: every op takes its own chances
        SyncEngine client(config);
        client.setAuthToken(QString::fromLatin1(TestTokens::userToken(kTestSecret, "chaos")));
        client.registerLwwMap(map);
        const auto put = [&](int i) {
            client.put(map, QStringLiteral("key-%1").arg(i), QCborMap { { "n", i } });
        };

        // Some writes before the (lossy) handshake, the rest one message at a time while
        // connected: each waits until the proxy has seen its OP_BATCH, forwarded or dropped.
        constexpr int kOffline = 10;
        for (int i = 0; i < kOffline; ++i)
            put(i);
        client.start();
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), SyncEngine::State::Connected, 10000);
        for (int i = kOffline; i < kPuts; ++i) {
            const quint64 seen = proxy.forwardedMessages() + proxy.droppedMessages();
            put(i);
            QVERIFY(QTest::qWaitFor(
                [&] { return proxy.forwardedMessages() + proxy.droppedMessages() > seen; }, 2000));
        }

        const auto allArrived = [&] {
            const crdt::LwwMap *lww = m_server->getMap(map);
            if (!lww)
                return false;
            for (int i = 0; i < kPuts; ++i) {
                if (lww->get(QStringLiteral("key-%1").arg(i))
                    != QCborValue(QCborMap { { "n", i } }))
                    return false;
            }
            return true;
        };
        QVERIFY2(QTest::qWaitFor(allArrived, 20000),
            qPrintable(QStringLiteral("server holds %1 of %2 keys; %3 messages dropped")
                           .arg(m_server->getMap(map) ? m_server->getMap(map)->size() : 0)
                           .arg(kPuts)
                           .arg(proxy.droppedMessages())));
        QTRY_COMPARE_WITH_TIMEOUT(client.pendingOpCount(), 0, 20000);
        // The loss was real.
        QVERIFY(proxy.droppedMessages() > 0);
    }
};

QTEST_GUILESS_MAIN(tst_Chaos)
#include "tst_chaos.moc"
