// Split brain: two clients keep writing while the network swallows everything, then the network
// heals and every link is dropped at once. Clients and server must agree afterwards.
#include "ChaosProxy.h"
#include "ServerFixture.h"
#include "TestTokens.h"
#include "client/SyncEngine.h"

#include <QSignalSpy>
#include <QTest>

using namespace wingman;
using namespace wingman::client;
using namespace wingman::test;
using State = SyncEngine::State;

namespace {

const QString kMap = QStringLiteral("board");

std::unique_ptr<SyncEngine> makeClient(const QUrl &url, const QString &nodeId)
{
    SyncEngineConfig config;
    config.url = url;
    config.nodeId = nodeId;
    config.reconnectBaseMs = 50;
    config.reconnectMaxMs = 500;
    config.authTimeoutMs = 2000;
    config.ackTimeoutMs = 1000;
    config.heartbeatIntervalMs = 500;
    config.heartbeatTimeoutMs = 3000;
    auto engine = std::make_unique<SyncEngine>(config);
    engine->setAuthToken(QString::fromLatin1(TestTokens::userToken(kTestSecret, nodeId)));
    engine->registerLwwMap(kMap);
    return engine;
}

QCborValue valueIn(const crdt::LwwMap *map, const QString &key)
{
    const std::optional<QCborValue> value = map ? map->get(key) : std::nullopt;
    return value.value_or(QCborValue(QCborValue::Undefined));
}

} // namespace

class tst_Resilience : public QObject
{
    Q_OBJECT

    ServerFixture m_server;

private Q_SLOTS:
    void init() { QVERIFY(m_server.start()); }
    void cleanup() { QVERIFY(m_server.stop()); }

    void splitBrainConverges()
    {
        ChaosProxy proxy(m_server.url());
        QVERIFY(proxy.start());
        auto alice = makeClient(proxy.url(), "alice");
        auto bob = makeClient(proxy.url(), "bob");
        alice->start();
        bob->start();
        QTRY_COMPARE(alice->state(), State::Connected);
        QTRY_COMPARE(bob->state(), State::Connected);
        QCOMPARE(proxy.activeLinks(), 2);

        // Both sides keep their sockets but nothing gets through.
        proxy.setSilent(true);
        const auto first = alice->put(kMap, "title", "alice's title");
        QVERIFY(first);
        alice->put(kMap, "only-alice", 1);
        // Bob's write must be the later one: let the wall clock pass Alice's millisecond.
        QTRY_VERIFY(crdt::Hlc::systemMillis() > first->timestamp.millis);
        const auto second = bob->put(kMap, "title", "bob's title");
        QVERIFY(second && second->timestamp > first->timestamp);
        bob->put(kMap, "only-bob", 2);

        // Writes go into the void: the server hears nothing while the network is down.
        QSignalSpy dropped(&proxy, &ChaosProxy::linkClosed);
        QVERIFY(!dropped.wait(300));
        QVERIFY(valueIn(m_server->getMap(kMap), "title").isUndefined());
        QCOMPARE(alice->pendingOpCount(), 2);
        QCOMPARE(bob->pendingOpCount(), 2);

        proxy.setSilent(false);
        proxy.disconnectAll();

        const QCborValue winner("bob's title");
        const auto converged = [&] {
            for (const crdt::LwwMap *map :
                { alice->lwwMap(kMap), bob->lwwMap(kMap), m_server->getMap(kMap) }) {
                if (valueIn(map, "title") != winner || valueIn(map, "only-alice") != QCborValue(1)
                    || valueIn(map, "only-bob") != QCborValue(2)) {
                    return false;
                }
            }
            return true;
        };
        QVERIFY2(QTest::qWaitFor(converged, 10000),
            qPrintable(QStringLiteral("alice=%1 bob=%2 server=%3")
                           .arg(valueIn(alice->lwwMap(kMap), "title").toString(),
                               valueIn(bob->lwwMap(kMap), "title").toString(),
                               valueIn(m_server->getMap(kMap), "title").toString())));
        QTRY_COMPARE(alice->pendingOpCount(), 0);
        QTRY_COMPARE(bob->pendingOpCount(), 0);
        QCOMPARE(alice->lwwMap(kMap)->merkleTree().rootHash(),
            m_server->getMap(kMap)->merkleTree().rootHash());
        QCOMPARE(bob->lwwMap(kMap)->merkleTree().rootHash(),
            m_server->getMap(kMap)->merkleTree().rootHash());
    }
};

QTEST_GUILESS_MAIN(tst_Resilience)
#include "tst_resilience.moc"
