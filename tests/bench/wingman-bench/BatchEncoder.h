#pragma once

#include <QByteArray>
#include <QString>

#include <string>
#include <string_view>

namespace wingman::bench {

// A run of constant MessagePack bytes, built once.
class ConstantBytes
{
public:
    ConstantBytes &str(std::string_view text);
    ConstantBytes &map(quint32 n);
    ConstantBytes &array(quint32 n);
    ConstantBytes &boolean(bool value);
    std::string_view bytes() const { return m_bytes; }

private:
    template <typename Writer> ConstantBytes &put(size_t bound, Writer write);

    std::string m_bytes;
};

// Encodes one connection's OP_BATCH frames: ids are increasing decimal strings, keys distinct
// ("c<conn>-<id>"), timestamps increasing (millis now, counter +1 per op, nodeId "bench-<conn>").
// Everything constant in an op is encoded once; an op costs a few copies and five small fields.
class BatchEncoder
{
public:
    BatchEncoder(int connection, const QString &mapName, int batchSize);
    QByteArray encode(quint64 firstId);

private:
    std::string m_keyPrefix;
    int m_batchSize;
    ConstantBytes m_header;
    ConstantBytes m_beforeId;
    ConstantBytes m_beforeKey;
    ConstantBytes m_beforeN;
    ConstantBytes m_beforeMillis;
    ConstantBytes m_beforeCounter;
    ConstantBytes m_tail;
    size_t m_opBound = 0;
    quint64 m_counter = 0;
};

} // namespace wingman::bench
