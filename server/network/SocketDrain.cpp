#include "network/SocketDrain.h"

#include "network/NetworkModule.h"

#include <QSocketNotifier>
#include <QTcpSocket>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace wingman::network {

SocketDrain *SocketDrain::attach(QTcpSocket *socket, qint64 maxBytes, int lingerMs, QObject *parent)
{
    if (socket->state() != QAbstractSocket::ConnectedState || socket->socketDescriptor() < 0)
        return nullptr;
    const int descriptor = ::fcntl(int(socket->socketDescriptor()), F_DUPFD_CLOEXEC, 0);
    if (descriptor < 0) {
        qCWarning(lcNetwork) << "cannot keep a closing socket to drain it:" << strerror(errno);
        return nullptr;
    }
    auto *drain = new SocketDrain(descriptor, maxBytes, lingerMs, parent);
    // Qt may still be writing the close frame: FIN and draining wait until it has let go.
    connect(socket, &QAbstractSocket::disconnected, drain, &SocketDrain::begin);
    connect(socket, &QObject::destroyed, drain, &SocketDrain::begin);
    return drain;
}

SocketDrain::SocketDrain(int descriptor, qint64 maxBytes, int lingerMs, QObject *parent)
    : QObject(parent)
    , m_descriptor(descriptor)
    , m_maxBytes(maxBytes)
{
    m_linger.setSingleShot(true);
    m_linger.setInterval(lingerMs);
    connect(&m_linger, &QTimer::timeout, this, &SocketDrain::finish);
    // Should Qt never report the close, the drain still ends.
    m_linger.start();
}

SocketDrain::~SocketDrain()
{
    if (m_descriptor >= 0)
        ::close(m_descriptor);
}

void SocketDrain::begin()
{
    if (m_begun || m_descriptor < 0)
        return;
    m_begun = true;
    ::shutdown(m_descriptor, SHUT_WR);
    ::fcntl(m_descriptor, F_SETFL, ::fcntl(m_descriptor, F_GETFL) | O_NONBLOCK);
    m_notifier = new QSocketNotifier(m_descriptor, QSocketNotifier::Read, this);
    connect(m_notifier, &QSocketNotifier::activated, this, &SocketDrain::readAndDiscard);
    m_linger.start();
    readAndDiscard();
}

void SocketDrain::readAndDiscard()
{
    char buffer[64 * 1024];
    for (;;) {
        const ssize_t n = ::read(m_descriptor, buffer, sizeof buffer);
        if (n > 0) {
            m_discarded += n;
            if (m_discarded >= m_maxBytes)
                return finish();
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0 && errno == EINTR)
            continue;
        return finish(); // end of stream or an error: the peer is gone
    }
}

void SocketDrain::finish()
{
    if (m_finished)
        return;
    m_finished = true;
    if (m_notifier)
        m_notifier->setEnabled(false);
    m_linger.stop();
    if (m_descriptor >= 0) {
        ::close(m_descriptor);
        m_descriptor = -1;
    }
    deleteLater();
}

} // namespace wingman::network
