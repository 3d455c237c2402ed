#pragma once

#include <QByteArrayView>
#include <QLoggingCategory>
#include <QtGlobal>

#include <cstddef>
#include <cstdint>
#include <cstdio>

namespace wingman::fuzz {

// The decoders log what they refuse; at thousands of inputs a second that is only noise.
inline void silenceLogging()
{
    QLoggingCategory::setFilterRules(QStringLiteral("*=false"));
    qInstallMessageHandler([](QtMsgType type, const QMessageLogContext &, const QString &message) {
        if (type == QtFatalMsg)
            fprintf(stderr, "%s\n", qPrintable(message));
    });
}

inline QByteArrayView bytesOf(const uint8_t *data, size_t size)
{
    return QByteArrayView(reinterpret_cast<const char *>(data), qsizetype(size));
}

// A finding the sanitizers cannot see (two decoders disagreeing): abort so libFuzzer keeps the
// input.
inline void require(bool condition, const char *what)
{
    if (!condition)
        qFatal("fuzz invariant broken: %s", what);
}

} // namespace wingman::fuzz
