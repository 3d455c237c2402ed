#pragma once

#include "BatchEncoder.h"

#include <QByteArray>
#include <QObject>
#include <QString>
#include <QUrl>

#include <deque>
#include <optional>
#include <string_view>

class QWebSocket;

namespace wingman::bench {

// One writer connection filling a map for the restart run: authenticates, sends its share of
// records ("c<index>-<id>", ids 1…records) in OP_BATCHes of `batch` with up to `window` in flight,
// and reports done once every op is acknowledged (so committed: acks follow the commit).
class FillClient : public QObject
{
    Q_OBJECT
public:
    FillClient(int index, const QByteArray &token, const QString &mapName, int batch, int window,
        quint64 records, QObject *parent = nullptr);

    void open(const QUrl &url);
    quint64 acked() const { return m_acked; }
    void close();

Q_SIGNALS:
    void done();
    void failed(const QString &reason);

private:
    void fail(const QString &reason);
    void onFrame(const QByteArray &frame);
    void handleMessage(std::string_view message, int depth);
    void onAck(std::string_view payload);
    void sendBatches();

    int m_index;
    QByteArray m_token;
    int m_window;
    quint64 m_records;
    quint64 m_fullBatch;
    BatchEncoder m_encoder;
    std::optional<BatchEncoder> m_lastEncoder; // the smaller last batch, if any
    QWebSocket *m_socket;
    std::deque<quint64> m_inFlight; // lastId of each batch sent and not yet acknowledged
    quint64 m_nextId = 1;
    quint64 m_acked = 0;
    bool m_authenticated = false;
    bool m_closed = false;
};

} // namespace wingman::bench
