#pragma once

#include <QObject>
#include <QTimer>

class QSocketNotifier;
class QTcpSocket;

namespace wingman::network {

// Keeps a closed client connection half-open for a moment: when the server closes a socket whose
// peer is still sending (say, mid-way through a frame over the size limit), closing the descriptor
// with unread data makes the kernel answer with a reset, and the peer may lose the close frame
// (1009) it has not read yet and report 1006. A drain holds a duplicate of the descriptor, sends
// FIN once Qt has written its last bytes, and reads and discards what still arrives, up to
// maxBytes or lingerMs, whichever comes first. Nothing is buffered.
class SocketDrain : public QObject
{
    Q_OBJECT
public:
    // Call when socket is about to close (QIODevice::aboutToClose); the drain parents itself to
    // parent and deletes itself when done. Null when there is nothing to drain.
    static SocketDrain *attach(QTcpSocket *socket, qint64 maxBytes, int lingerMs, QObject *parent);
    ~SocketDrain() override;

    // Lets the connection go now (a process about to exit cannot wait for the linger).
    void finish();

private:
    SocketDrain(int descriptor, qint64 maxBytes, int lingerMs, QObject *parent);
    void begin();
    void readAndDiscard();

    int m_descriptor;
    qint64 m_maxBytes;
    qint64 m_discarded = 0;
    bool m_begun = false;
    bool m_finished = false;
    QSocketNotifier *m_notifier = nullptr;
    QTimer m_linger;
};

} // namespace wingman::network
