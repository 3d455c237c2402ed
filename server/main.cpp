#include "ServerConfig.h"
#include "ServerCoordinator.h"
#include "ServerFactory.h"
#include "service/ServiceNotifier.h"

#include <QCoreApplication>
#include <QSocketNotifier>

#include <csignal>
#include <cstdio>
#include <sys/socket.h>
#include <unistd.h>

namespace {

int signalPipe[2] = { -1, -1 };

void onTerminationSignal(int)
{
    const char byte = 1;
    [[maybe_unused]] const auto written = ::write(signalPipe[0], &byte, 1);
}

// SIGINT/SIGTERM become a graceful shutdown through a self-pipe, the async-signal-safe way into
// the event loop.
void installTerminationHandler(wingman::ServerCoordinator *server)
{
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, signalPipe) != 0)
        return;
    auto *notifier = new QSocketNotifier(signalPipe[1], QSocketNotifier::Read, server);
    QObject::connect(notifier, &QSocketNotifier::activated, server, [server, notifier] {
        char byte = 0;
        [[maybe_unused]] const auto got = ::read(signalPipe[1], &byte, 1);
        notifier->setEnabled(false);
        server->shutdown();
    });
    struct sigaction action = {};
    action.sa_handler = onTerminationSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("wingman-server"));
    QCoreApplication::setApplicationVersion(QStringLiteral(WINGMAN_VERSION));

    const auto parsed = wingman::ServerConfig::fromCommandLine(
        QCoreApplication::arguments(), QProcessEnvironment::systemEnvironment());
    if (!parsed.config) {
        std::FILE *out = parsed.exitCode == 0 ? stdout : stderr;
        std::fprintf(out, "%s\n", qPrintable(parsed.message));
        if (parsed.exitCode != 0)
            std::fprintf(stderr, "Try 'wingman-server --help' for the options.\n");
        return parsed.exitCode;
    }

    auto *server = wingman::ServerFactory::create(*parsed.config, &app);
    QObject::connect(
        server, &wingman::ServerCoordinator::startupFailed, &app, [](const QString &reason) {
            std::fprintf(stderr, "wingman-server: %s\n", qPrintable(reason));
            QCoreApplication::exit(1);
        });
    QObject::connect(
        server, &wingman::ServerCoordinator::stopped, &app, [] { QCoreApplication::exit(0); });
    new wingman::ServiceNotifier(server);
    installTerminationHandler(server);
    return app.exec();
}
