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
    // Held while black-holed, delivered in order when the mode changes: TCP retransmits, so a
    // stalled stream resumes without a gap, and a close (FIN) waits behind its bytes.
    QByteArray heldToUpstream;
    QByteArray heldToDialler;
    bool diallerClosed = false;
    bool upstreamClosed = false;
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
    applyModes();
}

void TcpChaosProxy::setModeFor(const QString &dialler, Mode mode, int delayMs)
{
    m_byDialler.insert(dialler, { mode, delayMs });
    applyModes();
}

TcpChaosProxy::Setting TcpChaosProxy::settingFor(const Link *link) const
{
    return m_byDialler.value(link->diallerId, m_default);
}

void TcpChaosProxy::applyModes()
{
    const QList<Link *> links = m_links;
    for (Link *link : links) {
        const Mode mode = settingFor(link).mode;
        if (mode == Mode::Cut)
            closeLink(link);
        else if (mode != Mode::BlackHole)
            release(link);
    }
}

void TcpChaosProxy::release(Link *link)
{
    if (!link->diallerId.isEmpty() && link->upstream->state() == QAbstractSocket::UnconnectedState
        && !link->upstreamClosed)
        link->upstream->connectToHost(QHostAddress::LocalHost, m_upstreamPort);
    if (!link->heldToUpstream.isEmpty())
        forward(link, true, std::exchange(link->heldToUpstream, {}));
    if (!link->heldToDialler.isEmpty())
        forward(link, false, std::exchange(link->heldToDialler, {}));
    if (link->diallerClosed || link->upstreamClosed)
        closeLink(link, true);
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
        connect(socket, &QTcpSocket::disconnected, this, [this, link] { onClosed(link, true); });
        connect(link->upstream, &QTcpSocket::disconnected, this,
            [this, link] { onClosed(link, false); });
        connect(link->upstream, &QTcpSocket::errorOccurred, this, [this, link] {
            // A close is handled as disconnected(); this is a refused or failed connect.
            if (link->upstream->error() != QAbstractSocket::RemoteHostClosedError
                && link->upstream->state() != QAbstractSocket::ConnectedState)
                closeLink(link);
        });
        onData(link, true);
    }
}

void TcpChaosProxy::onClosed(Link *link, bool diallerSide)
{
    if (!m_links.contains(link))
        return;
    // What one side said before it closed still reaches the other.
    onData(link, diallerSide);
    if (!m_links.contains(link))
        return;
    (diallerSide ? link->diallerClosed : link->upstreamClosed) = true;
    if (settingFor(link).mode != Mode::BlackHole || (link->diallerClosed && link->upstreamClosed)
        || (link->diallerClosed && link->upstream->state() == QAbstractSocket::UnconnectedState))
        closeLink(link, true);
}

void TcpChaosProxy::onData(Link *link, bool fromDialler)
{
    if (!m_links.contains(link))
        return;
    QTcpSocket *from = fromDialler ? link->dialler : link->upstream;
    QByteArray data = from->readAll();
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
        // Upstream is dialled once the dialler is known: a black-holed dialler's connection never
        // reaches the node, as its SYN would not.
        if (link->diallerId.isEmpty())
            return;
        data = std::exchange(link->helloBuffer, {});
    }
    if (data.isEmpty())
        return;
    const Setting setting = settingFor(link);
    switch (setting.mode) {
    case Mode::Cut:
        closeLink(link);
        return;
    case Mode::BlackHole:
        m_swallowed += quint64(data.size());
        (fromDialler ? link->heldToUpstream : link->heldToDialler).append(data);
        return;
    case Mode::Pass:
    case Mode::Delay:
        break;
    }
    if (fromDialler && link->upstream->state() == QAbstractSocket::UnconnectedState
        && !link->upstreamClosed)
        link->upstream->connectToHost(QHostAddress::LocalHost, m_upstreamPort);
    if (setting.mode == Mode::Delay && setting.delayMs > 0)
        QTimer::singleShot(setting.delayMs, this,
            [this, link, fromDialler, data] { forward(link, fromDialler, data); });
    else
        forward(link, fromDialler, data);
}

void TcpChaosProxy::forward(Link *link, bool fromDialler, const QByteArray &data)
{
    if (!m_links.contains(link))
        return;
    m_forwarded += quint64(data.size());
    QTcpSocket *to = fromDialler ? link->upstream : link->dialler;
    if (to->state() == QAbstractSocket::ConnectedState)
        to->write(data);
    else if (fromDialler)
        link->pendingUpstream.append(data);
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
