// wingman-bench: a load generator for any server speaking the TopGun wire protocol.
//
// C writer connections send OP_BATCHes of B LWW PUTs with up to W batches in flight each, S
// subscribers count the records delivered to them, and the run reports acked ops/s, ack latency,
// events/s and the server's CPU and RSS, then one `SUMMARY {json}` line. The client shares the
// machine with the server, so the hot path is cheap: batches are written from pre-encoded runs of
// bytes and incoming frames are scanned in place for the few fields the bench needs (measured: two
// orders of magnitude cheaper than going through QCbor values and MsgPackCodec); MsgPackCodec
// decodes the rare messages (auth failures, errors) and checks the hand-made frames at startup.

#include "protocol/MsgPackCodec.h"

#include <QCborArray>
#include <QCborMap>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMessageAuthenticationCode>
#include <QProcess>
#include <QRegularExpression>
#include <QThread>
#include <QTimer>
#include <QUrl>
#include <QWebSocket>
#include <QWebSocketServer>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

namespace {

using wingman::protocol::MsgPackCodec;

// Exit codes: the run's outcome, for scripts.
constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;
constexpr int kExitSetup = 2; // spawn, connect or authentication failed
constexpr int kExitRun = 3; // no acks, or a connection lost during the load

constexpr qint64 kNsPerMs = 1'000'000;
constexpr qint64 kWarmupNs = 1'000 * kNsPerMs;
constexpr qint64 kDrainNs = 2'000 * kNsPerMs; // wait for in-flight acks after the load
constexpr qint64 kNoAckNs = 3'000 * kNsPerMs; // zero acks this long after the load began: fail
constexpr int kSetupTimeoutMs = 10'000; // spawn, connect and authenticate, each
constexpr int kHardStopMs = 5'000; // after the window, report whatever finished

qint64 nowNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

int msUntil(qint64 deadlineNs)
{
    return int(std::max<qint64>(0, (deadlineNs - nowNs()) / kNsPerMs));
}

// ---------------------------------------------------------------------------------------------
// Options

struct Options {
    QUrl url;
    QByteArray token;
    QByteArray secret;
    QString mapName;
    QString spawnPath;
    QString spawnStorage = QStringLiteral("memory:");
    QStringList spawnArguments;
    qint64 serverPid = 0;
    int connections = 10;
    int durationS = 10;
    int batch = 100;
    int subscribers = 2;
    int window = 4;
    int threads = 1;
    bool baseline = false;
};

QByteArray base64Url(const QByteArray &data)
{
    return data.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals);
}

// HS256 JWT with sub "bench", roles ["USER"], valid for an hour.
QByteArray mintToken(const QByteArray &secret)
{
    const qint64 now = QDateTime::currentSecsSinceEpoch();
    const QJsonObject header { { "alg", "HS256" }, { "typ", "JWT" } };
    const QJsonObject claims { { "sub", "bench" }, { "roles", QJsonArray { "USER" } },
        { "iat", now }, { "exp", now + 3600 } };
    const QByteArray signingInput = base64Url(QJsonDocument(header).toJson(QJsonDocument::Compact))
        + '.' + base64Url(QJsonDocument(claims).toJson(QJsonDocument::Compact));
    const QByteArray signature
        = QMessageAuthenticationCode::hash(signingInput, secret, QCryptographicHash::Sha256);
    return signingInput + '.' + base64Url(signature);
}

std::optional<Options> parseOptions(const QCoreApplication &app)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Load generator for servers speaking the TopGun wire protocol."));
    parser.addHelpOption();
    const QCommandLineOption url(QStringLiteral("url"), QStringLiteral("Server to drive."),
        QStringLiteral("ws://host:port"), QStringLiteral("ws://127.0.0.1:8080"));
    const QCommandLineOption token(QStringLiteral("token"),
        QStringLiteral("JWT to authenticate with (default: mint an "
                       "HS256 token for --secret)."),
        QStringLiteral("jwt"));
    const QCommandLineOption secret(QStringLiteral("secret"),
        QStringLiteral("HS256 secret to mint the token with."), QStringLiteral("secret"),
        QStringLiteral("topgun-secret-dev"));
    const QCommandLineOption connections(QStringLiteral("connections"),
        QStringLiteral("Writer connections."), QStringLiteral("C"), QStringLiteral("10"));
    const QCommandLineOption duration(QStringLiteral("duration"),
        QStringLiteral("Measured seconds, after 1 s of warm-up."), QStringLiteral("D"),
        QStringLiteral("10"));
    const QCommandLineOption batch(QStringLiteral("batch"), QStringLiteral("PUTs per OP_BATCH."),
        QStringLiteral("B"), QStringLiteral("100"));
    const QCommandLineOption subscribers(QStringLiteral("subscribers"),
        QStringLiteral("Subscriber connections."), QStringLiteral("S"), QStringLiteral("2"));
    const QCommandLineOption window(QStringLiteral("window"),
        QStringLiteral("Batches in flight per connection."), QStringLiteral("W"),
        QStringLiteral("4"));
    const QCommandLineOption map(QStringLiteral("map"), QStringLiteral("Map to write."),
        QStringLiteral("name"), QStringLiteral("bench"));
    const QCommandLineOption serverPid(QStringLiteral("server-pid"),
        QStringLiteral("Server process to sample CPU and RSS of."), QStringLiteral("pid"));
    const QCommandLineOption spawn(QStringLiteral("spawn"),
        QStringLiteral("Start this wingman-server binary on free "
                       "loopback ports, drive it, stop it."),
        QStringLiteral("path"));
    const QCommandLineOption storage(QStringLiteral("storage"),
        QStringLiteral("Storage URL of the spawned server (memory:, sqlite:<file>, postgres://…)."),
        QStringLiteral("url"), QStringLiteral("memory:"));
    const QCommandLineOption serverArg(QStringLiteral("server-arg"),
        QStringLiteral("One more argument for the spawned server (repeatable), e.g. "
                       "--server-arg=--outbound-budget-bytes=268435456."),
        QStringLiteral("arg"));
    const QCommandLineOption baseline(QStringLiteral("baseline"),
        QStringLiteral("Drive an in-process echo server (same "
                       "frames, no logic) instead."));
    const QCommandLineOption threads(QStringLiteral("threads"),
        QStringLiteral("Client threads the connections share."), QStringLiteral("N"),
        QStringLiteral("1"));
    parser.addOptions({ url, token, secret, connections, duration, batch, subscribers, window, map,
        serverPid, spawn, storage, serverArg, baseline, threads });
    parser.process(app);

    const auto fail = [](const QString &message) -> std::optional<Options> {
        std::fprintf(stderr, "wingman-bench: %s\n", qPrintable(message));
        return std::nullopt;
    };
    Options options;
    const auto readInt
        = [&parser](const QCommandLineOption &option, int minimum, int maximum, int *out) {
              bool ok = false;
              const int value = parser.value(option).toInt(&ok);
              if (!ok || value < minimum || value > maximum)
                  return false;
              *out = value;
              return true;
          };
    struct IntOption {
        const QCommandLineOption *option;
        int *target;
        int minimum;
        int maximum;
    };
    const IntOption intOptions[] = {
        { &connections, &options.connections, 1, 10'000 },
        { &duration, &options.durationS, 1, 3'600 },
        { &batch, &options.batch, 1, 100'000 },
        { &subscribers, &options.subscribers, 0, 10'000 },
        { &window, &options.window, 1, 10'000 },
        { &threads, &options.threads, 1, 64 },
    };
    for (const IntOption &o : intOptions) {
        if (!readInt(*o.option, o.minimum, o.maximum, o.target))
            return fail(QStringLiteral("--%1 must be an integer in [%2, %3], not '%4'")
                            .arg(o.option->names().first())
                            .arg(o.minimum)
                            .arg(o.maximum)
                            .arg(parser.value(*o.option)));
    }

    options.baseline = parser.isSet(baseline);
    options.spawnPath = parser.value(spawn);
    options.spawnStorage = parser.value(storage);
    options.spawnArguments = parser.values(serverArg);
    if (options.baseline && !options.spawnPath.isEmpty())
        return fail(QStringLiteral("--baseline and --spawn exclude each other"));
    if ((options.baseline || !options.spawnPath.isEmpty()) && parser.isSet(url))
        return fail(QStringLiteral("--url drives an external server; drop it with --spawn or "
                                   "--baseline"));
    options.url = QUrl(parser.value(url));
    if (!options.url.isValid()
        || (options.url.scheme() != QLatin1String("ws")
            && options.url.scheme() != QLatin1String("wss")))
        return fail(
            QStringLiteral("--url must be ws://host:port, not '%1'").arg(parser.value(url)));
    if (parser.isSet(serverPid)) {
        bool ok = false;
        options.serverPid = parser.value(serverPid).toLongLong(&ok);
        if (!ok || options.serverPid <= 0)
            return fail(QStringLiteral("--server-pid must be a process id"));
    }
    options.mapName = parser.value(map);
    if (options.mapName.isEmpty())
        return fail(QStringLiteral("--map must not be empty"));
    options.secret = parser.value(secret).toUtf8();
    options.token = parser.isSet(token) ? parser.value(token).toUtf8() : mintToken(options.secret);
    return options;
}

// ---------------------------------------------------------------------------------------------
// Process sampling (/proc)

// utime + stime in clock ticks, from a /proc/.../stat file; -1 when unreadable.
qint64 cpuTicks(const QString &statPath)
{
    QFile file(statPath);
    if (!file.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray stat = file.readAll();
    // The command name is in parentheses and may hold spaces: fields count from the last ')'.
    const qsizetype close = stat.lastIndexOf(')');
    if (close < 0)
        return -1;
    const QList<QByteArray> fields = stat.mid(close + 2).split(' ');
    // After the name: state is field 3 of stat(5), so utime (14) and stime (15) are at 11, 12.
    if (fields.size() < 13)
        return -1;
    return fields.at(11).toLongLong() + fields.at(12).toLongLong();
}

// VmRSS in KiB; -1 when unreadable.
qint64 rssKib(qint64 pid)
{
    QFile file(QStringLiteral("/proc/%1/status").arg(pid));
    if (!file.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : file.readAll().split('\n')) {
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').value(0).toLongLong();
    }
    return -1;
}

// The 1-minute load average: other work on the machine skews every figure.
double loadAverage()
{
    QFile file(QStringLiteral("/proc/loadavg"));
    if (!file.open(QIODevice::ReadOnly))
        return -1;
    return file.readAll().split(' ').value(0).toDouble();
}

qint64 ownCpuUs()
{
    rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    return (qint64(usage.ru_utime.tv_sec) + usage.ru_stime.tv_sec) * 1'000'000
        + usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
}

// ---------------------------------------------------------------------------------------------
// MessagePack: writing OP_BATCH frames, and reading only what the bench needs in place.

// MessagePack writers over a buffer the caller sized; each returns the end of what it wrote.
char *putBigEndian(char *p, quint64 value, int width)
{
    for (int i = width - 1; i >= 0; --i)
        *p++ = char(value >> (8 * i));
    return p;
}

char *putHeader(char *p, quint32 n, quint32 fixLimit, uchar fixBase, uchar code16, uchar code32)
{
    if (n < fixLimit) {
        *p++ = char(fixBase | n);
        return p;
    }
    *p++ = char(n <= 0xffff ? code16 : code32);
    return putBigEndian(p, n, n <= 0xffff ? 2 : 4);
}

char *putMapHeader(char *p, quint32 n)
{
    return putHeader(p, n, 16, 0x80, 0xde, 0xdf);
}
char *putArrayHeader(char *p, quint32 n)
{
    return putHeader(p, n, 16, 0x90, 0xdc, 0xdd);
}

char *putStrHeader(char *p, size_t n)
{
    if (n < 32) {
        *p++ = char(0xa0 | n);
    } else if (n <= 0xff) {
        *p++ = char(0xd9);
        *p++ = char(n);
    } else {
        p = putHeader(p, quint32(n), 0, 0, 0xda, 0xdb);
    }
    return p;
}

char *putBytes(char *p, std::string_view bytes)
{
    std::memcpy(p, bytes.data(), bytes.size());
    return p + bytes.size();
}

char *putStr(char *p, std::string_view text)
{
    return putBytes(putStrHeader(p, text.size()), text);
}

// The smallest unsigned form, as msgpackr writes integers within uint32.
char *putUint(char *p, quint64 value)
{
    if (value < 0x80) {
        *p++ = char(value);
        return p;
    }
    const int width = value <= 0xff ? 1 : value <= 0xffff ? 2 : value <= 0xffffffff ? 4 : 8;
    *p++ = char(width == 1 ? 0xcc : width == 2 ? 0xcd : width == 4 ? 0xce : 0xcf);
    return putBigEndian(p, value, width);
}

// Always float64 (0xcb), as the TopGun client writes epoch millis.
char *putFloat64(char *p, double value)
{
    quint64 bits = 0;
    std::memcpy(&bits, &value, sizeof bits);
    *p++ = char(0xcb);
    return putBigEndian(p, bits, 8);
}

constexpr size_t kMaxStrHeader = 5;
constexpr size_t kMaxUint = 9;
constexpr size_t kMaxDecimal = 20; // digits of a quint64

// A run of constant MessagePack bytes, built once.
class ConstantBytes
{
public:
    ConstantBytes &str(std::string_view text)
    {
        return put(kMaxStrHeader + text.size(), [&](char *p) { return putStr(p, text); });
    }
    ConstantBytes &map(quint32 n)
    {
        return put(5, [&](char *p) { return putMapHeader(p, n); });
    }
    ConstantBytes &array(quint32 n)
    {
        return put(5, [&](char *p) { return putArrayHeader(p, n); });
    }
    ConstantBytes &boolean(bool value)
    {
        return put(1, [&](char *p) {
            *p = char(value ? 0xc3 : 0xc2);
            return p + 1;
        });
    }
    std::string_view bytes() const { return m_bytes; }

private:
    template <typename Writer> ConstantBytes &put(size_t bound, Writer write)
    {
        const size_t size = m_bytes.size();
        m_bytes.resize(size + bound);
        m_bytes.resize(size_t(write(m_bytes.data() + size) - m_bytes.data()));
        return *this;
    }

    std::string m_bytes;
};

// Encodes one connection's OP_BATCH frames: ids are increasing decimal strings, keys distinct
// ("c<conn>-<id>"), timestamps increasing (millis now, counter +1 per op, nodeId "bench-<conn>").
// Everything constant in an op is encoded once; an op costs a few copies and five small fields.
class BatchEncoder
{
public:
    BatchEncoder(int connection, const QString &mapName, int batchSize)
        : m_keyPrefix(QStringLiteral("c%1-").arg(connection).toStdString())
        , m_batchSize(batchSize)
    {
        const std::string map = mapName.toStdString();
        const std::string nodeId = QStringLiteral("bench-%1").arg(connection).toStdString();
        m_header.map(2)
            .str("type")
            .str("OP_BATCH")
            .str("payload")
            .map(1)
            .str("ops")
            .array(quint32(batchSize));
        m_beforeId.map(5).str("id");
        m_beforeKey.str("mapName").str(map).str("key");
        m_beforeN.str("opType").str("PUT").str("record").map(2).str("value").map(3).str("n");
        m_beforeMillis.str("text")
            .str("bench-payload-0123")
            .str("flag")
            .boolean(true) // ~40 bytes
            .str("timestamp")
            .map(3)
            .str("millis");
        m_beforeCounter.str("counter");
        m_tail.str("nodeId").str(nodeId);
        m_opBound = m_beforeId.bytes().size() + m_beforeKey.bytes().size()
            + m_beforeN.bytes().size() + m_beforeMillis.bytes().size()
            + m_beforeCounter.bytes().size() + m_tail.bytes().size() + (kMaxStrHeader + kMaxDecimal)
            + (kMaxStrHeader + m_keyPrefix.size() + kMaxDecimal) + 3 * kMaxUint;
    }

    QByteArray encode(quint64 firstId)
    {
        QByteArray frame(qsizetype(m_header.bytes().size() + size_t(m_batchSize) * m_opBound),
            Qt::Uninitialized);
        char *p = putBytes(frame.data(), m_header.bytes());
        const double millis = double(QDateTime::currentMSecsSinceEpoch());
        for (int i = 0; i < m_batchSize; ++i) {
            const quint64 id = firstId + quint64(i);
            char digits[kMaxDecimal];
            const std::string_view idText(
                digits, size_t(std::to_chars(digits, digits + sizeof digits, id).ptr - digits));
            p = putBytes(p, m_beforeId.bytes());
            p = putStr(p, idText);
            p = putBytes(p, m_beforeKey.bytes());
            p = putStrHeader(p, m_keyPrefix.size() + idText.size());
            p = putBytes(putBytes(p, m_keyPrefix), idText);
            p = putBytes(p, m_beforeN.bytes());
            p = putUint(p, id);
            p = putBytes(p, m_beforeMillis.bytes());
            p = putFloat64(p, millis);
            p = putBytes(p, m_beforeCounter.bytes());
            p = putUint(p, ++m_counter);
            p = putBytes(p, m_tail.bytes());
        }
        frame.truncate(p - frame.constData());
        return frame;
    }

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

// A bounds-checked cursor over one MessagePack document that reads headers and scalars and skips
// whole values without building them.
class MsgReader
{
public:
    explicit MsgReader(std::string_view bytes)
        : m_p(reinterpret_cast<const uchar *>(bytes.data()))
        , m_end(m_p + bytes.size())
    { }

    std::optional<quint32> mapHeader()
    {
        if (m_p >= m_end)
            return std::nullopt;
        const uchar b = *m_p;
        if ((b & 0xf0) == 0x80) {
            ++m_p;
            return quint32(b & 0x0f);
        }
        if (b != 0xde && b != 0xdf)
            return std::nullopt;
        ++m_p;
        return readLength(b == 0xde ? 2 : 4);
    }

    std::optional<quint32> arrayHeader()
    {
        if (m_p >= m_end)
            return std::nullopt;
        const uchar b = *m_p;
        if ((b & 0xf0) == 0x90) {
            ++m_p;
            return quint32(b & 0x0f);
        }
        if (b != 0xdc && b != 0xdd)
            return std::nullopt;
        ++m_p;
        return readLength(b == 0xdc ? 2 : 4);
    }

    // A str value; nothing is consumed when the next value is not a str.
    std::optional<std::string_view> string()
    {
        if (m_p >= m_end)
            return std::nullopt;
        const uchar b = *m_p;
        std::optional<quint32> length;
        if ((b & 0xe0) == 0xa0) {
            ++m_p;
            length = quint32(b & 0x1f);
        } else if (b >= 0xd9 && b <= 0xdb) {
            ++m_p;
            length = readLength(1 << (b - 0xd9));
        }
        return length ? take(*length) : std::nullopt;
    }

    // A bin value; nothing is consumed when the next value is not a bin.
    std::optional<std::string_view> binary()
    {
        if (m_p >= m_end || *m_p < 0xc4 || *m_p > 0xc6)
            return std::nullopt;
        const int width = 1 << (*m_p++ - 0xc4);
        const auto length = readLength(width);
        return length ? take(*length) : std::nullopt;
    }

    std::optional<bool> boolean()
    {
        if (m_p >= m_end || (*m_p != 0xc2 && *m_p != 0xc3))
            return std::nullopt;
        return *m_p++ == 0xc3;
    }

    // A non-negative integer written as any int type or as an integral float.
    std::optional<quint64> unsignedInteger()
    {
        if (m_p >= m_end)
            return std::nullopt;
        const uchar b = *m_p;
        if (b <= 0x7f) {
            ++m_p;
            return quint64(b);
        }
        if (b >= 0xcc && b <= 0xcf) {
            ++m_p;
            return readBigEndian(1 << (b - 0xcc));
        }
        if (b >= 0xd0 && b <= 0xd3) { // int8..64: non-negative only
            ++m_p;
            const int width = 1 << (b - 0xd0);
            const auto raw = readBigEndian(width);
            if (!raw || (*raw >> (8 * width - 1)) != 0)
                return std::nullopt;
            return raw;
        }
        if (b == 0xcb) {
            ++m_p;
            const auto raw = readBigEndian(8);
            if (!raw)
                return std::nullopt;
            double value = 0;
            std::memcpy(&value, &*raw, sizeof value);
            if (!(value >= 0 && value < 18446744073709551616.0) || value != double(quint64(value)))
                return std::nullopt;
            return quint64(value);
        }
        return std::nullopt;
    }

    // Skips one whole value (with everything nested in it); false on malformed input.
    bool skip()
    {
        quint64 pending = 1;
        while (pending > 0) {
            --pending;
            if (m_p >= m_end)
                return false;
            const uchar b = *m_p++;
            std::optional<quint32> n;
            if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
                continue;
            if (b <= 0x8f) {
                pending += 2u * (b & 0x0f);
            } else if (b <= 0x9f) {
                pending += b & 0x0f;
            } else if (b <= 0xbf) {
                if (!advance(b & 0x1f))
                    return false;
            } else if (b >= 0xc4 && b <= 0xc6) { // bin
                if (!(n = readLength(1 << (b - 0xc4))) || !advance(*n))
                    return false;
            } else if (b >= 0xc7 && b <= 0xc9) { // ext: length, type, data
                if (!(n = readLength(1 << (b - 0xc7))) || !advance(quint64(*n) + 1))
                    return false;
            } else if (b >= 0xca && b <= 0xd3) { // float32/64, uint8..64, int8..64
                static constexpr int widths[] = { 4, 8, 1, 2, 4, 8, 1, 2, 4, 8 };
                if (!advance(widths[b - 0xca]))
                    return false;
            } else if (b >= 0xd4 && b <= 0xd8) { // fixext: type, 1..16 bytes
                if (!advance(1 + (1 << (b - 0xd4))))
                    return false;
            } else if (b >= 0xd9 && b <= 0xdb) { // str8/16/32
                if (!(n = readLength(1 << (b - 0xd9))) || !advance(*n))
                    return false;
            } else if (b == 0xdc || b == 0xdd) {
                if (!(n = readLength(b == 0xdc ? 2 : 4)))
                    return false;
                pending += *n;
            } else if (b == 0xde || b == 0xdf) {
                if (!(n = readLength(b == 0xde ? 2 : 4)))
                    return false;
                pending += 2u * quint64(*n);
            } else {
                return false; // 0xc1, never used
            }
            // Every pending value needs at least a byte: a hostile count fails here, cheaply.
            if (pending > quint64(m_end - m_p))
                return false;
        }
        return true;
    }

    // Everything from the next value to the end, without consuming it.
    std::string_view rest() const
    {
        return std::string_view(reinterpret_cast<const char *>(m_p), size_t(m_end - m_p));
    }

private:
    std::optional<quint64> readBigEndian(int width)
    {
        if (m_end - m_p < width)
            return std::nullopt;
        quint64 value = 0;
        for (int i = 0; i < width; ++i)
            value = (value << 8) | *m_p++;
        return value;
    }
    std::optional<quint32> readLength(int width)
    {
        const auto value = readBigEndian(width);
        return value ? std::optional<quint32>(quint32(*value)) : std::nullopt;
    }
    bool advance(quint64 count)
    {
        if (quint64(m_end - m_p) < count)
            return false;
        m_p += count;
        return true;
    }
    std::optional<std::string_view> take(quint32 length)
    {
        if (quint64(m_end - m_p) < length)
            return std::nullopt;
        const std::string_view text(reinterpret_cast<const char *>(m_p), length);
        m_p += length;
        return text;
    }

    const uchar *m_p;
    const uchar *m_end;
};

// The top-level fields of a message the bench looks at, as spans into the frame. `payload` runs
// from the start of the payload value to the end of the frame: readers take its first value.
struct Envelope {
    std::string_view type;
    std::string_view payload;
    std::string_view data; // bin contents (BATCH)
};

// Reads the top-level map only as far as the message's type needs: a SERVER_EVENT or
// QUERY_UPDATE stops at `type`, a SERVER_BATCH_EVENT or OP_ACK at the start of `payload`.
std::optional<Envelope> scanEnvelope(std::string_view message)
{
    MsgReader reader(message);
    const auto entries = reader.mapHeader();
    if (!entries)
        return std::nullopt;
    Envelope envelope;
    const auto complete = [&envelope] {
        const std::string_view type = envelope.type;
        if (type.empty())
            return false;
        if (type == "BATCH")
            return !envelope.data.empty();
        if (type == "OP_ACK" || type == "SERVER_BATCH_EVENT")
            return !envelope.payload.empty();
        return true;
    };
    for (quint32 i = 0; i < *entries && !complete(); ++i) {
        const auto key = reader.string();
        if (!key && !reader.skip())
            return std::nullopt;
        std::optional<std::string_view> value;
        if (key == "type" && (value = reader.string())) {
            envelope.type = *value;
            continue;
        }
        if (key == "data" && (value = reader.binary())) {
            envelope.data = *value;
            continue;
        }
        if (key == "payload")
            envelope.payload = reader.rest();
        if (!complete() && !reader.skip())
            return std::nullopt;
    }
    if (envelope.type.empty())
        return std::nullopt;
    return envelope;
}

// From the value of `field` in the encoded map at the start of `map` to the end of the input;
// nullopt when absent or malformed.
std::optional<std::string_view> findField(std::string_view map, std::string_view field)
{
    MsgReader reader(map);
    const auto entries = reader.mapHeader();
    if (!entries)
        return std::nullopt;
    for (quint32 i = 0; i < *entries; ++i) {
        const auto key = reader.string();
        if (key == field)
            return reader.rest();
        if ((!key && !reader.skip()) || !reader.skip())
            return std::nullopt;
    }
    return std::nullopt;
}

// An op id: a decimal string, or a number.
std::optional<quint64> opId(std::string_view encoded)
{
    MsgReader reader(encoded);
    if (const auto text = reader.string()) {
        quint64 value = 0;
        const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
        if (error != std::errc() || end != text->data() + text->size())
            return std::nullopt;
        return value;
    }
    return reader.unsignedInteger();
}

// Results of an OP_ACK that say success: false.
quint64 failedResults(std::string_view payload)
{
    const auto results = findField(payload, "results");
    if (!results)
        return 0;
    MsgReader reader(*results);
    const auto count = reader.arrayHeader();
    if (!count)
        return 0;
    quint64 failed = 0;
    for (quint32 i = 0; i < *count; ++i) {
        if (const auto success = findField(reader.rest(), "success")) {
            if (MsgReader(*success).boolean() == false)
                ++failed;
        }
        if (!reader.skip())
            break;
    }
    return failed;
}

// Splits BATCH data (u32le N, then N times u32le length and the bytes) into its messages.
bool forEachBatched(std::string_view data, const std::function<void(std::string_view)> &handle)
{
    const auto readU32 = [&data](quint32 *out) {
        if (data.size() < 4)
            return false;
        const auto *b = reinterpret_cast<const uchar *>(data.data());
        *out = quint32(b[0]) | quint32(b[1]) << 8 | quint32(b[2]) << 16 | quint32(b[3]) << 24;
        data.remove_prefix(4);
        return true;
    };
    quint32 count = 0;
    if (!readU32(&count))
        return false;
    for (quint32 i = 0; i < count; ++i) {
        quint32 length = 0;
        if (!readU32(&length) || data.size() < length)
            return false;
        handle(data.substr(0, length));
        data.remove_prefix(length);
    }
    return true;
}

QCborMap decodeFully(std::string_view message)
{
    return MsgPackCodec::decode(QByteArrayView(message.data(), qsizetype(message.size())))
        .value.toMap();
}

// "code 400: Invalid message format" from an ERROR / AUTH_FAIL / OP_REJECTED message.
QString describeFailure(const QCborMap &message)
{
    const QCborMap payload = message.value(QStringLiteral("payload")).toMap();
    QString text = message.value(QStringLiteral("error")).toString();
    for (const char *field : { "message", "reason", "error" }) {
        if (text.isEmpty())
            text = payload.value(QLatin1String(field)).toString();
    }
    const QCborValue code = payload.value(QStringLiteral("code"));
    if (code.isInteger() || code.isDouble())
        text = QStringLiteral("code %1: %2").arg(qint64(code.toDouble())).arg(text);
    return text.isEmpty() ? QStringLiteral("(no reason given)") : text;
}

// Encodes a sample batch and an OP_ACK and reads each back through the other side's codec, so a
// broken encoder or scanner stops the run before it produces figures.
QString selfCheck(const Options &options)
{
    // The run's batch size (bounded, to stay quick) exercises the same header forms as the run.
    const int size = std::clamp(options.batch, 3, 1000);
    BatchEncoder encoder(0, options.mapName, size);
    const QByteArray encoded = encoder.encode(1);
    const auto decoded = MsgPackCodec::decode(encoded);
    if (!decoded.ok)
        return QStringLiteral("MsgPackCodec rejects an encoded OP_BATCH at '%1': %2")
            .arg(decoded.error.field, decoded.error.reason);
    const QCborMap batch = decoded.value.toMap();
    const QCborArray ops
        = batch.value(QStringLiteral("payload")).toMap().value(QStringLiteral("ops")).toArray();
    const QCborMap op = ops.at(size - 1).toMap();
    const QCborMap timestamp
        = op.value(QStringLiteral("record")).toMap().value(QStringLiteral("timestamp")).toMap();
    if (batch.value(QStringLiteral("type")).toString() != QLatin1String("OP_BATCH")
        || ops.size() != size || op.value(QStringLiteral("id")).toString() != QString::number(size)
        || op.value(QStringLiteral("key")).toString() != QStringLiteral("c0-%1").arg(size)
        || op.value(QStringLiteral("mapName")).toString() != options.mapName
        || !timestamp.value(QStringLiteral("millis")).isDouble()
        || timestamp.value(QStringLiteral("counter")).toInteger() != size)
        return QStringLiteral("an encoded OP_BATCH decodes as %1")
            .arg(decoded.value.toDiagnosticNotation().left(600));

    const QCborMap ack { { QStringLiteral("type"), QStringLiteral("OP_ACK") },
        { QStringLiteral("payload"),
            QCborMap { { QStringLiteral("lastId"), QStringLiteral("4294967298") },
                { QStringLiteral("results"),
                    QCborArray { QCborMap { { QStringLiteral("opId"), QStringLiteral("1") },
                        { QStringLiteral("success"), false } } } } } } };
    const QByteArray ackBytes = MsgPackCodec::encode(ack);
    const auto envelope
        = scanEnvelope(std::string_view(ackBytes.constData(), size_t(ackBytes.size())));
    if (!envelope || envelope->type != "OP_ACK" || failedResults(envelope->payload) != 1)
        return QStringLiteral("an encoded OP_ACK does not scan as written");
    const auto lastId = findField(envelope->payload, "lastId");
    if (!lastId || opId(*lastId) != 4294967298ULL)
        return QStringLiteral("an encoded OP_ACK's lastId does not scan as written");
    return {};
}

// ---------------------------------------------------------------------------------------------
// Clients

struct RunClock {
    qint64 loadStart = 0;
    qint64 measureStart = 0;
    qint64 measureEnd = 0;
    bool inWindow(qint64 t) const { return t >= measureStart && t < measureEnd; }
};

// What one connection observed inside the measured window (errors: all of the run). Written only
// by the connection's thread; read by the controller after every connection finished.
struct ClientStats {
    quint64 ackedOps = 0;
    quint64 ackedBatches = 0;
    quint64 failedResults = 0;
    quint64 rejectedOps = 0;
    quint64 unmatchedAcks = 0;
    quint64 errors = 0;
    quint64 undecodable = 0;
    quint64 serverEvents = 0;
    quint64 batchEventRecords = 0;
    quint64 queryUpdates = 0;
    std::vector<quint32> latenciesUs;
    QString firstError;
};

struct ClientConfig {
    enum class Role { Writer, Subscriber };
    Role role = Role::Writer;
    int index = 0;
    QByteArray token;
    QString mapName;
    int batch = 1;
    int window = 1;
    bool fifoAcks = false; // the baseline echo answers in order with a fixed lastId
};

// One WebSocket connection: authenticates, then writes batches (writer) or counts the records
// the server pushes (subscriber).
class BenchClient : public QObject
{
    Q_OBJECT
public:
    BenchClient(const ClientConfig &config, ClientStats *stats, std::atomic<quint64> *acks)
        : m_config(config)
        , m_stats(stats)
        , m_acks(acks)
        , m_socket(new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this))
        , m_encoder(config.index, config.mapName, config.batch)
    {
        connect(m_socket, &QWebSocket::binaryMessageReceived, this, &BenchClient::onFrame);
        connect(m_socket, &QWebSocket::connected, this, [this] { m_connected = true; });
        connect(m_socket, &QWebSocket::disconnected, this, &BenchClient::onDisconnected);
        connect(m_socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
            &BenchClient::onSocketError);
    }

    void open(const QUrl &url)
    {
        m_url = url;
        m_socket->open(url);
    }

    void startLoad(const RunClock &clock)
    {
        m_clock = clock;
        m_state = State::Loading;
        QTimer::singleShot(
            msUntil(clock.measureEnd), Qt::PreciseTimer, this, &BenchClient::endLoad);
        if (isWriter())
            sendBatches();
    }

    // Ends the connection now, without waiting for acks.
    void stop()
    {
        m_state = State::Closed;
        m_socket->abort();
    }

Q_SIGNALS:
    void authenticated();
    void failed(const QString &reason);
    void finished();
    // The first ERROR or OP_REJECTED this connection received, for the no-acks diagnosis.
    void serverErrorReceived(const QString &description);

private:
    enum class State { Connecting, Ready, Loading, Draining, Closed };
    struct InFlight {
        quint64 lastId;
        qint64 sentNs;
    };

    bool isWriter() const { return m_config.role == ClientConfig::Role::Writer; }
    QString name() const
    {
        return QStringLiteral("%1 %2")
            .arg(isWriter() ? QStringLiteral("writer") : QStringLiteral("subscriber"))
            .arg(m_config.index);
    }

    void fail(const QString &reason)
    {
        if (m_state == State::Closed)
            return;
        m_state = State::Closed;
        m_socket->abort();
        Q_EMIT failed(QStringLiteral("%1: %2").arg(name(), reason));
    }

    void onSocketError(QAbstractSocket::SocketError)
    {
        if (!m_connected)
            failToConnect();
    }

    void failToConnect()
    {
        fail(QStringLiteral("cannot connect to %1: %2")
                 .arg(m_url.toString(), m_socket->errorString()));
    }

    void onDisconnected()
    {
        if (m_state == State::Closed)
            return;
        if (!m_connected) {
            failToConnect();
            return;
        }
        QString reason = QStringLiteral("connection closed by the server (close code %1%2)")
                             .arg(int(m_socket->closeCode()))
                             .arg(m_socket->closeReason().isEmpty()
                                     ? QString()
                                     : QStringLiteral(" \"%1\"").arg(m_socket->closeReason()));
        if (!m_stats->firstError.isEmpty())
            reason += QStringLiteral("; last server error: ") + m_stats->firstError;
        fail(reason);
    }

    void onFrame(const QByteArray &frame)
    {
        if (m_state == State::Closed)
            return; // the controller may be reading the stats already
        handleMessage(std::string_view(frame.constData(), size_t(frame.size())), nowNs(), 0);
    }

    void handleMessage(std::string_view message, qint64 now, int depth)
    {
        const auto envelope = scanEnvelope(message);
        if (!envelope) {
            ++m_stats->undecodable;
            return;
        }
        const std::string_view type = envelope->type;
        if (type == "OP_ACK") {
            handleAck(envelope->payload, now);
        } else if (type == "SERVER_EVENT" || type == "QUERY_UPDATE") {
            if (m_clock.inWindow(now))
                ++(type == "SERVER_EVENT" ? m_stats->serverEvents : m_stats->queryUpdates);
        } else if (type == "SERVER_BATCH_EVENT") {
            if (m_clock.inWindow(now)) {
                const auto events = findField(envelope->payload, "events");
                m_stats->batchEventRecords
                    += events ? MsgReader(*events).arrayHeader().value_or(0) : 0;
            }
        } else if (type == "BATCH") {
            const bool ok = depth < 2
                && forEachBatched(envelope->data,
                    [&](std::string_view inner) { handleMessage(inner, now, depth + 1); });
            if (!ok)
                ++m_stats->undecodable;
        } else {
            handleControl(type, message);
        }
    }

    // Messages off the hot path, decoded in full.
    void handleControl(std::string_view type, std::string_view message)
    {
        if (type == "AUTH_REQUIRED") {
            send(QCborMap { { QStringLiteral("type"), QStringLiteral("AUTH") },
                { QStringLiteral("token"), QString::fromUtf8(m_config.token) } });
        } else if (type == "AUTH_ACK") {
            onAuthenticated();
        } else if (type == "AUTH_FAIL") {
            fail(QStringLiteral("authentication failed: %1")
                     .arg(describeFailure(decodeFully(message))));
        } else if (type == "ERROR") {
            ++m_stats->errors;
            recordFirstError(QStringLiteral("ERROR "), message);
        } else if (type == "OP_REJECTED") {
            ++m_stats->rejectedOps;
            recordFirstError(QStringLiteral("OP_REJECTED "), message);
        }
    }

    void recordFirstError(const QString &prefix, std::string_view message)
    {
        if (!m_stats->firstError.isEmpty())
            return;
        m_stats->firstError = prefix + describeFailure(decodeFully(message));
        Q_EMIT serverErrorReceived(QStringLiteral("%1: %2").arg(name(), m_stats->firstError));
    }

    void onAuthenticated()
    {
        if (m_state != State::Connecting)
            return; // a repeated AUTH_ACK
        m_state = State::Ready;
        if (!isWriter()) {
            // SYNC_INIT subscribes to the map's changes; QUERY_SUB adds QUERY_UPDATEs.
            send(QCborMap { { QStringLiteral("type"), QStringLiteral("SYNC_INIT") },
                { QStringLiteral("mapName"), m_config.mapName },
                { QStringLiteral("lastSyncTimestamp"), 0 } });
            send(QCborMap { { QStringLiteral("type"), QStringLiteral("QUERY_SUB") },
                { QStringLiteral("payload"),
                    QCborMap {
                        { QStringLiteral("queryId"), QStringLiteral("q%1").arg(m_config.index) },
                        { QStringLiteral("mapName"), m_config.mapName },
                        { QStringLiteral("query"), QCborMap() } } } });
        }
        Q_EMIT authenticated();
    }

    void send(const QCborMap &message)
    {
        m_socket->sendBinaryMessage(MsgPackCodec::encode(message));
    }

    void sendBatches()
    {
        while (m_state == State::Loading && m_inFlight.size() < size_t(m_config.window)) {
            const QByteArray frame = m_encoder.encode(m_nextId);
            m_nextId += quint64(m_config.batch);
            m_inFlight.push_back({ m_nextId - 1, nowNs() });
            m_socket->sendBinaryMessage(frame);
        }
    }

    void handleAck(std::string_view payload, qint64 now)
    {
        if (!isWriter())
            return; // the baseline echo answers a subscriber's requests with OP_ACK too
        std::optional<quint64> lastId;
        if (!m_config.fifoAcks) {
            const auto field = findField(payload, "lastId");
            lastId = field ? opId(*field) : std::nullopt;
        } else if (!m_inFlight.empty()) {
            lastId = m_inFlight.front().lastId;
        }
        // Every op up to lastId is acknowledged, so earlier batches count as acked too.
        bool matched = false;
        while (lastId && !m_inFlight.empty() && m_inFlight.front().lastId <= *lastId) {
            credit(m_inFlight.front(), now);
            m_inFlight.pop_front();
            matched = true;
        }
        if (!matched)
            ++m_stats->unmatchedAcks;
        if (!m_config.fifoAcks)
            m_stats->failedResults += failedResults(payload);
        m_acks->fetch_add(1, std::memory_order_relaxed);

        if (m_state == State::Loading)
            sendBatches();
        else if (m_state == State::Draining && m_inFlight.empty())
            finish();
    }

    void credit(const InFlight &batch, qint64 now)
    {
        if (!m_clock.inWindow(now))
            return;
        m_stats->ackedOps += quint64(m_config.batch);
        ++m_stats->ackedBatches;
        m_stats->latenciesUs.push_back(
            quint32(std::min<qint64>((now - batch.sentNs) / 1000, UINT32_MAX)));
    }

    void endLoad()
    {
        if (m_state != State::Loading)
            return;
        if (m_inFlight.empty()) {
            finish();
            return;
        }
        m_state = State::Draining;
        QTimer::singleShot(int(kDrainNs / kNsPerMs), this, &BenchClient::finish);
    }

    void finish()
    {
        if (m_state == State::Closed)
            return;
        m_state = State::Closed;
        m_socket->close();
        Q_EMIT finished();
    }

    ClientConfig m_config;
    ClientStats *m_stats;
    std::atomic<quint64> *m_acks;
    QWebSocket *m_socket;
    BatchEncoder m_encoder;
    QUrl m_url;
    RunClock m_clock;
    State m_state = State::Connecting;
    bool m_connected = false; // the WebSocket handshake completed
    std::deque<InFlight> m_inFlight;
    quint64 m_nextId = 1;
};

// ---------------------------------------------------------------------------------------------
// Servers: a spawned wingman-server, or the baseline echo

// The baseline: a bare QWebSocketServer that answers the first frame of a connection (AUTH) with
// AUTH_ACK and every later one with the same small pre-encoded OP_ACK. Same frames, no logic.
class EchoServer : public QObject
{
    Q_OBJECT
public:
    EchoServer()
        : m_authRequired(MsgPackCodec::encode(
            QCborMap { { QStringLiteral("type"), QStringLiteral("AUTH_REQUIRED") } }))
        , m_authAck(MsgPackCodec::encode(
              QCborMap { { QStringLiteral("type"), QStringLiteral("AUTH_ACK") } }))
        , m_ack(
              MsgPackCodec::encode(QCborMap { { QStringLiteral("type"), QStringLiteral("OP_ACK") },
                  { QStringLiteral("payload"),
                      QCborMap { { QStringLiteral("lastId"), QStringLiteral("0") } } } }))
    { }

    // Runs in the echo thread; returns the port, or 0.
    quint16 listen()
    {
        m_threadId = gettid();
        m_server = new QWebSocketServer(
            QStringLiteral("wingman-bench-echo"), QWebSocketServer::NonSecureMode, this);
        connect(m_server, &QWebSocketServer::newConnection, this, &EchoServer::accept);
        if (!m_server->listen(QHostAddress::LocalHost, 0))
            return 0;
        return m_server->serverPort();
    }

    pid_t threadId() const { return m_threadId; }

private:
    void accept()
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

    QByteArray m_authRequired;
    QByteArray m_authAck;
    QByteArray m_ack;
    QWebSocketServer *m_server = nullptr;
    pid_t m_threadId = 0;
};

// A wingman-server child on OS-assigned loopback ports, ready once it logs its ports.
class SpawnedServer : public QObject
{
    Q_OBJECT
public:
    explicit SpawnedServer(QObject *parent = nullptr)
        : QObject(parent)
        , m_process(new QProcess(this))
    {
        connect(m_process, &QProcess::readyReadStandardError, this, &SpawnedServer::readLog);
        connect(m_process, &QProcess::errorOccurred, this, [this](QProcess::ProcessError error) {
            if (error == QProcess::FailedToStart)
                Q_EMIT failed(QStringLiteral("cannot start %1: %2")
                                  .arg(m_process->program(), m_process->errorString()));
        });
        connect(m_process, &QProcess::finished, this, [this] {
            if (m_stopping)
                return;
            m_exitReported = true;
            Q_EMIT failed(describeExit());
        });
    }

    void start(const QString &path, const QByteArray &secret, const QString &storage,
               const QStringList &extraArguments)
    {
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        // The flags alone configure it: WINGMAN_* variables would override them, and the server
        // refuses ones it does not know (such as scripts' WINGMAN_BUILD_DIR).
        for (const QString &name : environment.keys()) {
            if (name.startsWith(QLatin1String("WINGMAN_")))
                environment.remove(name);
        }
        // Logs to stderr even when it is a pipe, where the ready line is read from.
        environment.insert(QStringLiteral("QT_FORCE_STDERR_LOGGING"), QStringLiteral("1"));
        m_process->setProcessEnvironment(environment);
        m_process->setStandardOutputFile(QProcess::nullDevice());
        m_process->start(path,
            QStringList { QStringLiteral("--port"), QStringLiteral("0"), QStringLiteral("--cluster-port"),
                QStringLiteral("0"), QStringLiteral("--host"), QStringLiteral("127.0.0.1"),
                QStringLiteral("--jwt-secret"), QString::fromUtf8(secret),
                QStringLiteral("--storage"), storage } + extraArguments);
    }

    qint64 pid() const { return m_process->processId(); }

    // SIGTERM, then up to 5 s for the graceful shutdown; returns a problem not yet reported
    // through failed() (a crash, possibly before the SIGTERM, a non-zero exit or a hang), or empty.
    QString stop()
    {
        m_stopping = true;
        if (m_exitReported)
            return {};
        if (m_process->state() != QProcess::NotRunning) {
            m_process->terminate();
            if (!m_process->waitForFinished(5000)) {
                m_process->kill();
                m_process->waitForFinished(2000);
                return QStringLiteral("the server did not stop within 5 s of SIGTERM; killed it");
            }
        }
        if (m_process->exitStatus() == QProcess::NormalExit && m_process->exitCode() == 0)
            return {};
        return describeExit();
    }

Q_SIGNALS:
    void ready(quint16 port);
    void failed(const QString &reason);

private:
    QString describeExit() const
    {
        const int code = m_process->exitCode();
        const QString how = m_process->exitStatus() == QProcess::CrashExit
            ? QStringLiteral("crashed (signal %1)").arg(code)
            : QStringLiteral("exited with code %1").arg(code);
        return QStringLiteral("the server %1; its last log lines:\n  %2")
            .arg(how, m_lastLines.join(QStringLiteral("\n  ")));
    }

    void readLog()
    {
        static const QRegularExpression readyLine(
            QStringLiteral("ready: client port (\\d+), cluster port (\\d+)"));
        m_pending += m_process->readAllStandardError();
        qsizetype newline;
        while ((newline = m_pending.indexOf('\n')) >= 0) {
            const QString line = QString::fromUtf8(m_pending.left(newline));
            m_pending.remove(0, newline + 1);
            m_lastLines.append(line);
            if (m_lastLines.size() > 20)
                m_lastLines.removeFirst();
            if (m_ready)
                continue;
            const auto match = readyLine.match(line);
            if (match.hasMatch()) {
                m_ready = true;
                Q_EMIT ready(quint16(match.captured(1).toUInt()));
            }
        }
    }

    QProcess *m_process;
    QByteArray m_pending;
    QStringList m_lastLines;
    bool m_ready = false;
    bool m_stopping = false;
    bool m_exitReported = false;
};

// ---------------------------------------------------------------------------------------------
// The run

struct Sample {
    qint64 atNs = 0;
    qint64 serverTicks = -1;
    qint64 ownCpuUs = 0;
    qint64 rssKib = -1;
};

// Sets up the target, connects every client, runs warm-up and window, samples the server and
// reports. Everything is bounded by timers, so a run always ends by itself.
class BenchRun : public QObject
{
    Q_OBJECT
public:
    explicit BenchRun(const Options &options)
        : m_options(options)
    { }

    ~BenchRun() override
    {
        for (auto &thread : m_threads) {
            thread->quit();
            thread->wait();
        }
        if (m_echoThread) {
            m_echoThread->quit();
            m_echoThread->wait();
        }
    }

    void start()
    {
        if (const QString problem = selfCheck(m_options); !problem.isEmpty()) {
            abort(QStringLiteral("self-check failed: %1").arg(problem), kExitSetup);
            return;
        }
        if (m_options.baseline)
            startEcho();
        else if (!m_options.spawnPath.isEmpty())
            startSpawned();
        else
            connectClients(m_options.url);
    }

Q_SIGNALS:
    void done(int exitCode);

private:
    enum class Phase { Setup, Load, Done };

    void startEcho()
    {
        m_echoThread = std::make_unique<QThread>();
        auto *echo = new EchoServer;
        echo->moveToThread(m_echoThread.get());
        connect(m_echoThread.get(), &QThread::finished, echo, &QObject::deleteLater);
        m_echoThread->start();
        quint16 port = 0;
        QMetaObject::invokeMethod(
            echo, [echo] { return echo->listen(); }, Qt::BlockingQueuedConnection, &port);
        if (port == 0) {
            abort(QStringLiteral("the baseline echo server cannot listen"), kExitSetup);
            return;
        }
        m_echoThreadId = echo->threadId();
        m_serverPid = getpid();
        connectClients(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port)));
    }

    void startSpawned()
    {
        m_spawned = new SpawnedServer(this);
        connect(m_spawned, &SpawnedServer::failed, this, [this](const QString &reason) {
            abort(QStringLiteral("spawned server: %1").arg(reason),
                m_phase == Phase::Setup ? kExitSetup : kExitRun);
        });
        connect(m_spawned, &SpawnedServer::ready, this, [this](quint16 port) {
            m_serverPid = m_spawned->pid();
            connectClients(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(port)));
        });
        armSetupTimer(QStringLiteral("the spawned server did not log its ready line within %1 s"));
        m_spawned->start(m_options.spawnPath, m_options.secret, m_options.spawnStorage,
                         m_options.spawnArguments);
    }

    void armSetupTimer(const QString &message)
    {
        delete m_setupTimer;
        m_setupTimer = new QTimer(this);
        m_setupTimer->setSingleShot(true);
        connect(m_setupTimer, &QTimer::timeout, this,
            [this, message] { abort(message.arg(kSetupTimeoutMs / 1000), kExitSetup); });
        m_setupTimer->start(kSetupTimeoutMs);
    }

    void connectClients(const QUrl &url)
    {
        m_url = url;
        if (m_serverPid == 0)
            m_serverPid = m_options.serverPid;
        m_rssStartKib = m_serverPid ? rssKib(m_serverPid) : -1;
        m_loadAverage = loadAverage();
        armSetupTimer(QStringLiteral("connections not authenticated within %1 s"));

        for (int i = 0; i < m_options.threads; ++i) {
            m_threads.push_back(std::make_unique<QThread>());
            m_threads.back()->start();
        }
        const int total = m_options.connections + m_options.subscribers;
        m_stats.resize(size_t(total));
        for (int i = 0; i < total; ++i) {
            ClientConfig config;
            const bool writer = i < m_options.connections;
            config.role = writer ? ClientConfig::Role::Writer : ClientConfig::Role::Subscriber;
            config.index = writer ? i : i - m_options.connections;
            config.token = m_options.token;
            config.mapName = m_options.mapName;
            config.batch = m_options.batch;
            config.window = m_options.window;
            config.fifoAcks = m_options.baseline;
            auto *client = new BenchClient(config, &m_stats[size_t(i)], &m_acks);
            QThread *thread = m_threads[size_t(i % m_options.threads)].get();
            client->moveToThread(thread);
            connect(thread, &QThread::finished, client, &QObject::deleteLater);
            connect(client, &BenchClient::authenticated, this, &BenchRun::onAuthenticated);
            connect(client, &BenchClient::failed, this, [this](const QString &reason) {
                abort(reason, m_phase == Phase::Setup ? kExitSetup : kExitRun);
            });
            connect(client, &BenchClient::finished, this, &BenchRun::onClientFinished);
            // A writer's error explains missing acks better than a subscriber's.
            connect(client, &BenchClient::serverErrorReceived, this,
                [this, writer](const QString &error) {
                    if (m_firstServerError.isEmpty() || (writer && !m_firstServerErrorIsWriter)) {
                        m_firstServerError = error;
                        m_firstServerErrorIsWriter = writer;
                    }
                });
            m_clients.push_back(client);
            QMetaObject::invokeMethod(client, [client, url] { client->open(url); });
        }
    }

    void onAuthenticated()
    {
        if (++m_authenticated < int(m_clients.size()) || m_phase != Phase::Setup)
            return;
        delete m_setupTimer;
        m_setupTimer = nullptr;
        m_phase = Phase::Load;
        const qint64 now = nowNs();
        m_clock = { now, now + kWarmupNs, now + kWarmupNs + m_options.durationS * 1000 * kNsPerMs };
        for (BenchClient *client : m_clients) {
            const RunClock clock = m_clock;
            QMetaObject::invokeMethod(client, [client, clock] { client->startLoad(clock); });
        }
        QTimer::singleShot(
            msUntil(m_clock.measureStart), Qt::PreciseTimer, this, [this] { m_first = sample(); });
        QTimer::singleShot(
            msUntil(m_clock.measureEnd), Qt::PreciseTimer, this, [this] { m_last = sample(); });
        QTimer::singleShot(msUntil(std::min(m_clock.loadStart + kNoAckNs, m_clock.measureEnd)),
            this, &BenchRun::checkAcksArrive);
        QTimer::singleShot(msUntil(m_clock.measureEnd) + kHardStopMs, this, [this] {
            if (m_phase == Phase::Load)
                report(QStringLiteral("%1 of %2 connections did not finish within %3 s of the end")
                           .arg(int(m_clients.size()) - m_finished)
                           .arg(m_clients.size())
                           .arg(kHardStopMs / 1000));
        });
    }

    void checkAcksArrive()
    {
        if (m_phase != Phase::Load || m_acks.load() > 0)
            return;
        abort(QStringLiteral("no OP_ACK within %1 s of load from %2 writer connections; %3")
                  .arg(double(nowNs() - m_clock.loadStart) / 1e9, 0, 'f', 1)
                  .arg(m_options.connections)
                  .arg(m_firstServerError.isEmpty()
                          ? QStringLiteral("the server sent no ERROR either")
                          : QStringLiteral("first server error: ") + m_firstServerError),
            kExitRun);
    }

    void onClientFinished()
    {
        if (++m_finished == int(m_clients.size()) && m_phase == Phase::Load)
            report({});
    }

    Sample sample() const
    {
        Sample s;
        s.atNs = nowNs();
        if (m_echoThreadId)
            s.serverTicks = cpuTicks(QStringLiteral("/proc/self/task/%1/stat").arg(m_echoThreadId));
        else if (m_serverPid)
            s.serverTicks = cpuTicks(QStringLiteral("/proc/%1/stat").arg(m_serverPid));
        s.ownCpuUs = ownCpuUs();
        s.rssKib = m_serverPid ? rssKib(m_serverPid) : -1;
        return s;
    }

    // Returns once every client is closed, so its stats are no longer written.
    void stopClients()
    {
        for (BenchClient *client : m_clients)
            QMetaObject::invokeMethod(
                client, [client] { client->stop(); }, Qt::BlockingQueuedConnection);
    }

    void abort(const QString &reason, int exitCode)
    {
        if (m_phase == Phase::Done)
            return;
        m_phase = Phase::Done;
        stopClients();
        // A lost connection is often the server's crash: say so with the error.
        const QString stopProblem = m_spawned ? m_spawned->stop() : QString();
        std::fprintf(stderr, "wingman-bench: error: %s\n", qPrintable(reason));
        if (!stopProblem.isEmpty())
            std::fprintf(stderr, "wingman-bench: also: %s\n", qPrintable(stopProblem));
        QJsonObject summary { { "ok", false }, { "error", reason }, { "exitCode", exitCode },
            { "serverProblem", stopProblem } };
        std::printf(
            "SUMMARY %s\n", QJsonDocument(summary).toJson(QJsonDocument::Compact).constData());
        std::fflush(stdout);
        Q_EMIT done(exitCode);
    }

    void report(const QString &warning);

    Options m_options;
    Phase m_phase = Phase::Setup;
    QUrl m_url;
    qint64 m_serverPid = 0;
    pid_t m_echoThreadId = 0;
    std::unique_ptr<QThread> m_echoThread;
    SpawnedServer *m_spawned = nullptr;
    QTimer *m_setupTimer = nullptr;
    QString m_firstServerError;
    bool m_firstServerErrorIsWriter = false;
    std::vector<std::unique_ptr<QThread>> m_threads;
    std::vector<BenchClient *> m_clients;
    std::vector<ClientStats> m_stats;
    std::atomic<quint64> m_acks { 0 };
    int m_authenticated = 0;
    int m_finished = 0;
    RunClock m_clock;
    Sample m_first;
    Sample m_last;
    qint64 m_rssStartKib = -1;
    double m_loadAverage = -1;
};

double percentileMs(std::vector<quint32> &values, double fraction)
{
    if (values.empty())
        return 0;
    const size_t rank = std::min(values.size() - 1, size_t(fraction * double(values.size())));
    std::nth_element(values.begin(), values.begin() + qsizetype(rank), values.end());
    return values[rank] / 1000.0;
}

void BenchRun::report(const QString &warning)
{
    m_phase = Phase::Done;
    if (m_last.atNs == 0)
        m_last = sample();
    stopClients();
    ClientStats total;
    for (size_t i = 0; i < m_stats.size(); ++i) {
        ClientStats &s = m_stats[i];
        total.ackedOps += s.ackedOps;
        total.ackedBatches += s.ackedBatches;
        total.failedResults += s.failedResults;
        total.rejectedOps += s.rejectedOps;
        total.unmatchedAcks += s.unmatchedAcks;
        total.errors += s.errors;
        total.undecodable += s.undecodable;
        total.serverEvents += s.serverEvents;
        total.batchEventRecords += s.batchEventRecords;
        total.queryUpdates += s.queryUpdates;
        total.latenciesUs.insert(
            total.latenciesUs.end(), s.latenciesUs.begin(), s.latenciesUs.end());
        if (total.firstError.isEmpty() && !s.firstError.isEmpty())
            total.firstError = (i < size_t(m_options.connections) ? QStringLiteral("writer: ")
                                                                  : QStringLiteral("subscriber: "))
                + s.firstError;
    }
    const double seconds = double(m_options.durationS);
    const double windowSeconds = m_first.atNs > 0 ? double(m_last.atNs - m_first.atNs) / 1e9 : 0;
    const quint64 events = total.serverEvents + total.batchEventRecords + total.queryUpdates;
    const double opsPerSec = double(total.ackedOps) / seconds;
    const double eventsPerSec = double(events) / seconds;
    const double p50 = percentileMs(total.latenciesUs, 0.50);
    const double p99 = percentileMs(total.latenciesUs, 0.99);
    const long ticksPerSec = sysconf(_SC_CLK_TCK);
    const bool haveServerCpu
        = m_first.serverTicks >= 0 && m_last.serverTicks >= 0 && windowSeconds > 0;
    const double serverCpu = haveServerCpu ? 100.0
            * double(m_last.serverTicks - m_first.serverTicks) / double(ticksPerSec) / windowSeconds
                                           : -1;
    double clientCpu = windowSeconds > 0
        ? 100.0 * double(m_last.ownCpuUs - m_first.ownCpuUs) / 1e6 / windowSeconds
        : 0;
    if (m_echoThreadId && haveServerCpu)
        clientCpu -= serverCpu; // the echo thread runs in this process
    const QString mode = m_options.baseline ? QStringLiteral("baseline")
        : m_spawned                         ? QStringLiteral("spawned")
                                            : QStringLiteral("external");
    const bool noAcks = total.ackedOps == 0;
    const int exitCode = noAcks ? kExitRun : kExitOk;

    const auto mib = [](qint64 kib) {
        return kib < 0 ? QStringLiteral("n/a")
                       : QString::number(double(kib) / 1024.0, 'f', 1) + " MiB";
    };
    std::printf("wingman-bench: %s target %s%s, map '%s'\n", qPrintable(mode),
        qPrintable(m_url.toString()),
        m_serverPid ? qPrintable(QStringLiteral(" (pid %1)").arg(m_serverPid)) : "",
        qPrintable(m_options.mapName));
    std::printf("load: %d writers x window %d x batch %d, %d subscribers, %d client thread(s), "
                "1 s warm-up + %d s measured\n",
        m_options.connections, m_options.window, m_options.batch, m_options.subscribers,
        m_options.threads, m_options.durationS);
    std::printf("  acked ops/s         %12.0f   (%llu ops in %llu batches)\n", opsPerSec,
        qulonglong(total.ackedOps), qulonglong(total.ackedBatches));
    std::printf("  ack latency p50     %12.2f ms\n", p50);
    std::printf("  ack latency p99     %12.2f ms\n", p99);
    std::printf("  events/s            %12.0f   (%.0f per subscriber; records in the window: "
                "SERVER_EVENT %llu, SERVER_BATCH_EVENT %llu, QUERY_UPDATE %llu)\n",
        eventsPerSec, m_options.subscribers ? eventsPerSec / m_options.subscribers : 0.0,
        qulonglong(total.serverEvents), qulonglong(total.batchEventRecords),
        qulonglong(total.queryUpdates));
    if (haveServerCpu)
        std::printf("  server CPU          %12.1f %% of one core%s\n", serverCpu,
            m_echoThreadId ? " (echo thread)" : "");
    else
        std::printf("  server CPU                   n/a   (give --server-pid or --spawn)\n");
    std::printf("  server RSS          %s -> %s%s\n", qPrintable(mib(m_rssStartKib)),
        qPrintable(mib(m_last.rssKib)), m_echoThreadId ? " (bench process)" : "");
    std::printf("  client CPU          %12.1f %% of one core\n", clientCpu);
    std::printf("  load average        %12.2f   (1 min, before the run; %ld cores)\n",
        m_loadAverage, sysconf(_SC_NPROCESSORS_ONLN));
    std::printf("  rejected ops %llu, failed results %llu, ERRORs %llu, unmatched acks %llu, "
                "undecodable %llu\n",
        qulonglong(total.rejectedOps), qulonglong(total.failedResults), qulonglong(total.errors),
        qulonglong(total.unmatchedAcks), qulonglong(total.undecodable));
    if (!total.firstError.isEmpty())
        std::printf("  first server error: %s\n", qPrintable(total.firstError));
    if (!warning.isEmpty())
        std::fprintf(stderr, "wingman-bench: warning: %s\n", qPrintable(warning));
    if (noAcks)
        std::fprintf(stderr, "wingman-bench: error: no OP_ACK in the measured window\n");

    const QString stopProblem = m_spawned ? m_spawned->stop() : QString();
    if (!stopProblem.isEmpty())
        std::fprintf(stderr, "wingman-bench: warning: %s\n", qPrintable(stopProblem));

    const auto orNull
        = [](double value, bool present) { return present ? QJsonValue(value) : QJsonValue(); };
    QJsonObject summary {
        { "ok", !noAcks },
        { "exitCode", exitCode },
        { "mode", mode },
        { "url", m_url.toString() },
        { "connections", m_options.connections },
        { "subscribers", m_options.subscribers },
        { "batch", m_options.batch },
        { "window", m_options.window },
        { "threads", m_options.threads },
        { "durationS", m_options.durationS },
        { "warmupS", 1 },
        { "ackedOps", qint64(total.ackedOps) },
        { "ackedBatches", qint64(total.ackedBatches) },
        { "ackedOpsPerSec", std::round(opsPerSec) },
        { "latencyP50Ms", p50 },
        { "latencyP99Ms", p99 },
        { "events", qint64(events) },
        { "eventsPerSec", std::round(eventsPerSec) },
        { "serverEvents", qint64(total.serverEvents) },
        { "batchEventRecords", qint64(total.batchEventRecords) },
        { "queryUpdates", qint64(total.queryUpdates) },
        { "serverCpuPct", orNull(std::round(serverCpu * 10) / 10, haveServerCpu) },
        { "serverRssStartKib", orNull(double(m_rssStartKib), m_rssStartKib >= 0) },
        { "serverRssEndKib", orNull(double(m_last.rssKib), m_last.rssKib >= 0) },
        { "clientCpuPct", std::round(clientCpu * 10) / 10 },
        { "loadAverage", m_loadAverage },
        { "rejectedOps", qint64(total.rejectedOps) },
        { "failedResults", qint64(total.failedResults) },
        { "errors", qint64(total.errors) },
        { "unmatchedAcks", qint64(total.unmatchedAcks) },
        { "undecodable", qint64(total.undecodable) },
        { "firstError", total.firstError },
        { "warning", warning },
    };
    std::printf("SUMMARY %s\n", QJsonDocument(summary).toJson(QJsonDocument::Compact).constData());
    std::fflush(stdout);
    Q_EMIT done(exitCode);
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("wingman-bench"));
    const auto options = parseOptions(app);
    if (!options)
        return kExitUsage;
    BenchRun run(*options);
    QObject::connect(&run, &BenchRun::done, &app, &QCoreApplication::exit, Qt::QueuedConnection);
    QTimer::singleShot(0, &run, &BenchRun::start);
    return app.exec();
}

#include "wingman-bench.moc"
