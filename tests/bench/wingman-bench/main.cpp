// wingman-bench: a load generator for any server speaking the TopGun wire protocol.
//
// C writer connections send OP_BATCHes of B LWW PUTs with up to W batches in flight each, S
// subscribers count the records delivered to them, and the run reports acked ops/s, ack latency,
// events/s and the server's CPU and RSS, then one `SUMMARY {json}` line. The client shares the
// machine with the server, so the hot path is cheap: batches are written from pre-encoded runs of
// bytes and incoming frames are scanned in place for the few fields the bench needs (measured: two
// orders of magnitude cheaper than going through QCbor values and wire::MsgPackCodec);
// wire::MsgPackCodec decodes the rare messages (auth failures, errors) and checks the hand-made
// frames at startup. --mode topics and --mode locks measure pub/sub fan-out and lock round trips
// instead (PrimitivesRun); --mode restart fills a SQLite database and times restarts on it
// (RestartRun).

#include "Bench.h"
#include "BenchRun.h"
#include "Options.h"
#include "PrimitivesRun.h"
#include "RestartRun.h"

#include <QCoreApplication>
#include <QTimer>

using namespace wingman::bench;

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("wingman-bench"));
    const auto options = parseOptions(app);
    if (!options)
        return kExitUsage;
    if (options->mode == QLatin1String("restart")) {
        RestartRun restart(*options);
        QObject::connect(
            &restart, &RestartRun::done, &app, &QCoreApplication::exit, Qt::QueuedConnection);
        QTimer::singleShot(0, &restart, &RestartRun::start);
        return app.exec();
    }
    if (options->mode != QLatin1String("writes")) {
        PrimitivesRun primitives(*options);
        QObject::connect(
            &primitives, &PrimitivesRun::done, &app, &QCoreApplication::exit, Qt::QueuedConnection);
        QTimer::singleShot(0, &primitives, &PrimitivesRun::start);
        return app.exec();
    }
    BenchRun run(*options);
    QObject::connect(&run, &BenchRun::done, &app, &QCoreApplication::exit, Qt::QueuedConnection);
    QTimer::singleShot(0, &run, &BenchRun::start);
    return app.exec();
}
