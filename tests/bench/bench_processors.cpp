// Entry processor throughput: calls per second through a real node (WebSocket, per-key queue,
// commit) for a trivial JavaScript processor and for a built-in that runs natively, each on one
// key (serialised per key) and spread over many keys (the worker pool in parallel); and the
// sandbox alone, without network or storage.

#include "RawClient.h"
#include "TestServer.h"
#include "TestTokens.h"
#include "processors/Sandbox.h"
#include "processors/Watchdog.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QTextStream>
#include <QTimer>

using namespace wingman;
using namespace wingman::test;
using namespace Qt::StringLiterals;

namespace {

constexpr qint64 kRunMs = 3000;
constexpr int kWindow = 64; // requests in flight

const QString kJsIncrement = u"return { value: (value ?? 0) + 1, result: 1 };"_s;
const QString kBuiltInIncrement = u"const delta = args ?? 1; const newValue = (value ?? 0) + "
                                  "delta; return { value: newValue, result: newValue };"_s;

// Keeps kWindow requests in flight for kRunMs, sending the next as each answer arrives (event
// driven: the node runs in this process, on this thread).
double throughput(RawClient &client, const QString &name, const QString &code, int keys)
{
    const QCborMap processor { { u"name"_s, name }, { u"code"_s, code } };
    qint64 sent = 0;
    qint64 done = 0;
    qint64 failed = 0;
    bool running = true;
    const auto sendOne = [&] {
        client.send(QCborMap { { u"type"_s, u"ENTRY_PROCESS"_s },
            { u"requestId"_s, QString::number(sent) }, { u"mapName"_s, u"bench"_s },
            { u"key"_s, u"k%1"_s.arg(sent % keys) }, { u"processor"_s, processor } });
        ++sent;
    };
    QEventLoop loop;
    const QMetaObject::Connection connection
        = QObject::connect(&client, &RawClient::messageReceived, [&](const QCborMap &message) {
              if (message.value(u"type"_s).toString() != u"ENTRY_PROCESS_RESPONSE"_s)
                  return;
              if (!message.value(u"success"_s).toBool())
                  ++failed;
              ++done;
              if (running)
                  sendOne();
              else if (done == sent)
                  loop.quit();
          });
    QElapsedTimer timer;
    timer.start();
    QTimer::singleShot(kRunMs, &loop, [&] { running = false; });
    for (int i = 0; i < kWindow; ++i)
        sendOne();
    loop.exec();
    QObject::disconnect(connection);
    return failed ? -1 : double(done) * 1000.0 / double(timer.elapsed());
}

double sandboxOnly()
{
    processors::Watchdog watchdog;
    processors::Sandbox sandbox(watchdog, {});
    QElapsedTimer timer;
    timer.start();
    qint64 calls = 0;
    QCborValue value = 0;
    while (timer.elapsed() < kRunMs) {
        value = sandbox.runProcessor(kJsIncrement, value, u"k"_s, QCborValue()).value;
        ++calls;
    }
    return double(calls) * 1000.0 / double(timer.elapsed());
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QTextStream out(stdout);
    ServerConfig config = testConfig();
    config.storage = u"memory:"_s;
    auto server = startServer(config);
    if (!server)
        return 1;
    RawClient client;
    if (!client.connectAndAuthenticate(server->port(), TestTokens::userToken(kTestSecret)))
        return 1;
    out << "entry processor calls/s (window " << kWindow << ", " << kRunMs << " ms each)\n";
    out << "  sandbox only, JS increment:        " << qRound64(sandboxOnly()) << "\n";
    out.flush();
    for (const int keys : { 1, 256 }) {
        out << "  JS increment, " << keys << " key(s):" << QString(keys == 1 ? 12 : 10, u' ')
            << qRound64(throughput(client, u"inc"_s, kJsIncrement, keys)) << "\n";
        out.flush();
        out << "  builtin:increment, " << keys << " key(s):" << QString(keys == 1 ? 7 : 5, u' ')
            << qRound64(throughput(client, u"builtin:increment"_s, kBuiltInIncrement, keys))
            << "\n";
        out.flush();
    }
    stopServer(*server);
    return 0;
}
