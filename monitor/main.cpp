#include "MainWindow.h"
#include "MonitorIcon.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QProcessEnvironment>
#include <QTimer>

int main(int argc, char *argv[])
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("Wingman"));
    QApplication::setApplicationName(QStringLiteral("wingman-monitor"));
    QApplication::setApplicationVersion(QStringLiteral(WINGMAN_VERSION));
    QApplication::setWindowIcon(wingman::monitor::monitorIcon());
    QApplication::setDesktopFileName(QStringLiteral("wingman-monitor"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Live view of Wingman nodes through their monitor feed."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addOption({ QStringLiteral("token"),
        QStringLiteral("Admin JWT (default: $WINGMAN_MONITOR_TOKEN)."), QStringLiteral("jwt") });
    parser.addPositionalArgument(QStringLiteral("nodes"),
        QStringLiteral("host:metricsPort of each node to watch."),
        QStringLiteral("[host:port...]"));
    parser.process(app);

    QByteArray token = parser.value(QStringLiteral("token")).toUtf8();
    if (token.isEmpty())
        token = qgetenv("WINGMAN_MONITOR_TOKEN");

    wingman::monitor::MainWindow window;
    window.show();
    const QStringList nodes = parser.positionalArguments();
    for (const QString &node : nodes) {
        const qsizetype colon = node.lastIndexOf(u':');
        const quint16 port = colon > 0 ? node.mid(colon + 1).toUShort() : 0;
        if (port == 0) {
            qWarning("wingman-monitor: '%s' is not host:port", qPrintable(node));
            return 2;
        }
        window.addNode(node.left(colon), port, token);
    }
    if (nodes.isEmpty())
        QTimer::singleShot(0, &window, &wingman::monitor::MainWindow::showConnectDialog);
    return app.exec();
}
