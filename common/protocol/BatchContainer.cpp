#include "protocol/BatchContainer.h"

#include "wire/ByteArraySink.h"

#include <QCborValue>
#include <QtEndian>

#include <msgpack.hpp>

namespace wingman::protocol {

namespace {

constexpr qsizetype kWordSize = 4;

qsizetype dataSize(const QByteArrayList &messages)
{
    qsizetype size = kWordSize;
    for (const QByteArray &message : messages)
        size += kWordSize + message.size();
    return size;
}

void appendWord(wire::ByteArraySink &sink, quint32 value)
{
    char word[kWordSize];
    qToLittleEndian(value, word);
    sink.write(word, kWordSize);
}

void appendData(wire::ByteArraySink &sink, const QByteArrayList &messages)
{
    appendWord(sink, quint32(messages.size()));
    for (const QByteArray &message : messages) {
        appendWord(sink, quint32(message.size()));
        sink.write(message.constData(), size_t(message.size()));
    }
}

BatchDecodeResult failure(const QString &field, const QString &reason)
{
    BatchDecodeResult result;
    result.error.field = field;
    result.error.reason = reason;
    return result;
}

void packString(msgpack::packer<wire::ByteArraySink> &packer, QLatin1StringView text)
{
    packer.pack_str(uint32_t(text.size()));
    packer.pack_str_body(text.data(), uint32_t(text.size()));
}

} // namespace

QByteArray BatchContainer::encode(const QByteArrayList &encodedMessages)
{
    const qsizetype size = dataSize(encodedMessages);
    QByteArray frame;
    {
        wire::ByteArraySink sink(frame, size + 32);
        msgpack::packer<wire::ByteArraySink> packer(sink);
        packer.pack_map(3);
        packString(packer, QLatin1StringView("type"));
        packString(packer, QLatin1StringView("BATCH"));
        packString(packer, QLatin1StringView("count"));
        packer.pack_uint32(uint32_t(encodedMessages.size()));
        packString(packer, QLatin1StringView("data"));
        packer.pack_bin(uint32_t(size));
        appendData(sink, encodedMessages);
    }
    return frame;
}

QCborMap BatchContainer::toCbor(const QByteArrayList &encodedMessages)
{
    QCborMap message;
    message.insert(QLatin1StringView("type"), QLatin1StringView("BATCH"));
    message.insert(QLatin1StringView("count"), qint64(encodedMessages.size()));
    message.insert(QLatin1StringView("data"), encodeData(encodedMessages));
    return message;
}

QByteArray BatchContainer::encodeData(const QByteArrayList &encodedMessages)
{
    QByteArray data;
    {
        wire::ByteArraySink sink(data, dataSize(encodedMessages));
        appendData(sink, encodedMessages);
    }
    return data;
}

BatchDecodeResult BatchContainer::decode(const QCborMap &batchMessage)
{
    const QCborValue type = batchMessage.value(QLatin1StringView("type"));
    if (type.toString() != QLatin1StringView("BATCH"))
        return failure(QStringLiteral("type"), QStringLiteral("must be 'BATCH'"));
    const QCborValue data = batchMessage.value(QLatin1StringView("data"));
    if (!data.isByteArray())
        return failure(QStringLiteral("data"), QStringLiteral("must be binary"));

    const QByteArray bytes = data.toByteArray();
    BatchDecodeResult result = decodeData(bytes);
    if (!result.ok)
        return result;

    const QCborValue count = batchMessage.value(QLatin1StringView("count"));
    if (count.isUndefined())
        return result;
    if (!count.isInteger() && !count.isDouble())
        return failure(QStringLiteral("count"), QStringLiteral("must be a number"));
    const double declared = count.isInteger() ? double(count.toInteger()) : count.toDouble();
    if (declared != double(result.messages.size()))
        return failure(QStringLiteral("count"), QStringLiteral("does not match the data"));
    return result;
}

BatchDecodeResult BatchContainer::decodeData(QByteArrayView data)
{
    const QString field = QStringLiteral("data");
    if (data.size() < kWordSize)
        return failure(field, QStringLiteral("too short for its message count"));
    const quint32 count = qFromLittleEndian<quint32>(data.data());
    qsizetype offset = kWordSize;
    // Each message needs at least its length word: refuse a count the bytes cannot hold.
    if (quint64(count) > quint64(data.size() - offset) / kWordSize)
        return failure(field, QStringLiteral("message count %1 does not fit the data").arg(count));

    BatchDecodeResult result;
    result.messages.reserve(count);
    for (quint32 i = 0; i < count; ++i) {
        if (data.size() - offset < kWordSize)
            return failure(field, QStringLiteral("message %1 is truncated").arg(i));
        const quint32 length = qFromLittleEndian<quint32>(data.data() + offset);
        offset += kWordSize;
        if (length == 0)
            return failure(field, QStringLiteral("message %1 is empty").arg(i));
        if (quint64(length) > quint64(data.size() - offset))
            return failure(field, QStringLiteral("message %1 is longer than the data").arg(i));
        result.messages.append(QByteArray(data.data() + offset, qsizetype(length)));
        offset += length;
    }
    if (offset != data.size())
        return failure(field, QStringLiteral("trailing bytes after message %1").arg(count));
    result.ok = true;
    return result;
}

} // namespace wingman::protocol
