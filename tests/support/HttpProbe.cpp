#include "HttpProbe.h"

#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QSignalSpy>

namespace wingman::test {

std::optional<HttpReply> httpGet(quint16 port, const QString &path, int timeoutMs)
{
    QNetworkAccessManager manager;
    QNetworkRequest request(QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(port).arg(path)));
    request.setTransferTimeout(timeoutMs);
    std::unique_ptr<QNetworkReply> reply(manager.get(request));
    QSignalSpy finished(reply.get(), &QNetworkReply::finished);
    if (!reply->isFinished() && !finished.wait(timeoutMs)) {
        qWarning("GET %s timed out", qPrintable(path));
        return std::nullopt;
    }
    const QVariant status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute);
    if (!status.isValid()) {
        qWarning("GET %s failed: %s", qPrintable(path), qPrintable(reply->errorString()));
        return std::nullopt;
    }
    return HttpReply { status.toInt(),
        reply->header(QNetworkRequest::ContentTypeHeader).toByteArray(), reply->readAll() };
}

} // namespace wingman::test
