#include "TcpChaosProxy.h"

#include "wire/MsgPackCodec.h"

#include <QCborMap>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>
#include <QtEndian>

namespace wingman::test {

struct TcpChaosProxy::Link {
    QTcpSocket *dialler = nullptr;
    QTcpSocket *upstream = nullptr;
    QString diallerId; // from its HELLO
    QByteArray helloBuffer; // the dialler's first bytes until its HELLO is read
    QByteArray pendingUpstream; // bytes for upstream before it connected
};

TcpChaosProxy::TcpChaosProxy(QObject *parent)
    : QObject(parent)
    , m_server(new QTcpServer(this))
{
    connect(m_server, &QTcpServer::pendingConnectionAvailable, this, &TcpChaosProxy::acceptPending);
}

TcpChaosProxy::~TcpChaosProxy()
{
    for (Link *link : std::as_const(m_links)) {
        link->dialler->disconnect(this);
        link->upstream->disconnect(this);
        delete link;
    }
}

bool TcpChaosProxy::listen()
{
    return m_server->listen(QHostAddress::LocalHost, 0);
}

quint16 TcpChaosProxy::port() const
{
    return m_server->serverPort();
}

void TcpChaosProxy::setMode(Mode mode, int delayMs)
{
    m_default = { mode, delayMs };
    applyCuts();
}

void TcpChaosProxy::setModeFor(const QString &dialler, Mode mode, int delayMs)
{
    m_byDialler.insert(dialler, { mode, delayMs });
    applyCuts();
}

TcpChaosProxy::Setting TcpChaosProxy::settingFor(const Link *link) const
{
    return m_byDialler.value(link->diallerId, m_default);
}

void TcpChaosProxy::applyCuts()
{
    const QList<Link *> links = m_links;
    for (Link *link : links) {
        if (settingFor(link).mode == Mode::Cut)
            closeLink(link);
    }
}

void TcpChaosProxy::acceptPending()
{
    while (QTcpSocket *socket = m_server->nextPendingConnection()) {
        ++m_accepted;
        if (m_default.mode == Mode::Cut) {
            socket->abort();
            socket->deleteLater();
            continue;
        }
        auto *link = new Link;
        link->dialler = socket;
        socket->setParent(this);
        link->upstream = new QTcpSocket(this);
        m_links.append(link);
        connect(socket, &QTcpSocket::readyRead, this, [this, link] { onData(link, true); });
        connect(
            link->upstream, &QTcpSocket::readyRead, this, [this, link] { onData(link, false); });
        connect(link->upstream, &QTcpSocket::connected, this,
            [link] { link->upstream->write(std::exchange(link->pendingUpstream, {})); });
        // What one side said before it closed still reaches the other.
        connect(socket, &QTcpSocket::disconnected, this, [this, link] {
            onData(link, true);
            closeLink(link, true);
        });
        connect(link->upstream, &QTcpSocket::disconnected, this, [this, link] {
            onData(link, false);
            closeLink(link, true);
        });
        connect(link->upstream, &QTcpSocket::errorOccurred, this, [this, link] {
            if (link->upstream->state() != QAbstractSocket::ConnectedState)
                closeLink(link);
        });
        link->upstream->connectToHost(QHostAddress::LocalHost, m_upstreamPort);
        onData(link, true);
    }
}

void TcpChaosProxy::onData(Link *link, bool fromDialler)
{
    if (!m_links.contains(link))
        return;
    QTcpSocket *from = fromDialler ? link->dialler : link->upstream;
    QByteArray data = from->readAll();
    if (data.isEmpty())
        return;
    if (fromDialler && link->diallerId.isEmpty()) {
        link->helloBuffer.append(data);
        if (link->helloBuffer.size() >= 4) {
            const quint32 length = qFromBigEndian<quint32>(link->helloBuffer.constData());
            if (link->helloBuffer.size() >= qsizetype(4 + length)) {
                const auto decoded = wire::MsgPackCodec::decode(link->helloBuffer.mid(4, length));
                link->diallerId = decoded.value.toMap().value(QStringLiteral("nodeId")).toString();
                if (link->diallerId.isEmpty())
                    link->diallerId = QStringLiteral("?");
            }
        }
    }
    const Setting setting = settingFor(link);
    switch (setting.mode) {
    case Mode::Cut:
        closeLink(link);
        return;
    case Mode::BlackHole:
        m_swallowed += quint64(data.size());
        return;
    case Mode::Pass:
    case Mode::Delay:
        break;
    }
    m_forwarded += quint64(data.size());
    const auto deliver = [this, link, fromDialler, data] {
        if (!m_links.contains(link))
            return;
        QTcpSocket *to = fromDialler ? link->upstream : link->dialler;
        if (to->state() == QAbstractSocket::ConnectedState)
            to->write(data);
        else
            link->pendingUpstream.append(data);
    };
    if (setting.mode == Mode::Delay && setting.delayMs > 0)
        QTimer::singleShot(setting.delayMs, this, deliver);
    else
        deliver();
}

void TcpChaosProxy::closeLink(Link *link, bool graceful)
{
    if (!m_links.removeOne(link))
        return;
    for (QTcpSocket *socket : { link->dialler, link->upstream }) {
        socket->disconnect(this);
        if (graceful && socket->state() == QAbstractSocket::ConnectedState) {
            socket->flush();
            socket->disconnectFromHost();
            QTimer::singleShot(1000, socket, &QObject::deleteLater);
        } else {
            socket->abort();
            socket->deleteLater();
        }
    }
    delete link;
}

} // namespace wingman::test
