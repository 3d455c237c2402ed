#include "FeedClient.h"
#include "MainWindow.h"
#include "MonitorIcon.h"
#include "NodeMonitor.h"

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
    parser.addOption({ QStringLiteral("ca-cert"),
        QStringLiteral("PEM file of authorities to trust for https:// nodes, besides the "
                       "system's."),
        QStringLiteral("file") });
    parser.addPositionalArgument(QStringLiteral("nodes"),
        QStringLiteral("host:metricsPort of each node to watch; https://host:port for a node "
                       "serving TLS."),
        QStringLiteral("[host:port...]"));
    parser.process(app);

    QByteArray token = parser.value(QStringLiteral("token")).toUtf8();
    if (token.isEmpty())
        token = qgetenv("WINGMAN_MONITOR_TOKEN");

    wingman::monitor::MainWindow window;
    if (parser.isSet(QStringLiteral("ca-cert"))) {
        QString error;
        const QList<QSslCertificate> authorities
            = wingman::monitor::loadCaCertificates(parser.value(QStringLiteral("ca-cert")), &error);
        if (authorities.isEmpty()) {
            qWarning("wingman-monitor: --ca-cert: %s", qPrintable(error));
            return 2;
        }
        window.setCaCertificates(authorities);
    }
    window.show();
    const QStringList nodes = parser.positionalArguments();
    for (const QString &node : nodes) {
        const QUrl endpoint = wingman::monitor::NodeMonitor::endpointFromText(node);
        if (!endpoint.isValid()) {
            qWarning(
                "wingman-monitor: '%s' is not host:port, http://host:port or https://host:port",
                qPrintable(node));
            return 2;
        }
        window.addNode(endpoint, token);
    }
    if (nodes.isEmpty())
        QTimer::singleShot(0, &window, &wingman::monitor::MainWindow::showConnectDialog);
    return app.exec();
}
