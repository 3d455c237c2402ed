#include "EchoServer.h"

#include "protocol/Wire.h"

#include <QCborMap>
#include <QWebSocket>
#include <QWebSocketServer>

#include <memory>
#include <unistd.h>

namespace wingman::bench {

using wingman::wire::MsgPackCodec;

EchoServer::EchoServer()
    : m_authRequired(wire::MsgPackCodec::encode(
        QCborMap { { QStringLiteral("type"), QStringLiteral("AUTH_REQUIRED") } }))
    , m_authAck(wire::MsgPackCodec::encode(
          QCborMap { { QStringLiteral("type"), QStringLiteral("AUTH_ACK") } }))
    , m_ack(wire::MsgPackCodec::encode(
          QCborMap { { QStringLiteral("type"), QStringLiteral("OP_ACK") },
              { QStringLiteral("payload"),
                  QCborMap { { QStringLiteral("lastId"), QStringLiteral("0") } } } }))
{ }

quint16 EchoServer::listen()
{
    m_threadId = gettid();
    m_server = new QWebSocketServer(
        QStringLiteral("wingman-bench-echo"), QWebSocketServer::NonSecureMode, this);
    connect(m_server, &QWebSocketServer::newConnection, this, &EchoServer::accept);
    if (!m_server->listen(QHostAddress::LocalHost, 0))
        return 0;
    return m_server->serverPort();
}

void EchoServer::accept()
{
    while (QWebSocket *socket = m_server->nextPendingConnection()) {
        socket->setParent(this);
        auto authenticated = std::make_shared<bool>(false);
        connect(socket, &QWebSocket::binaryMessageReceived, socket,
            [this, socket, authenticated](const QByteArray &) {
                socket->sendBinaryMessage(*authenticated ? m_ack : m_authAck);
                *authenticated = true;
            });
        connect(socket, &QWebSocket::disconnected, socket, &QObject::deleteLater);
        socket->sendBinaryMessage(m_authRequired);
    }
}

} // namespace wingman::bench
