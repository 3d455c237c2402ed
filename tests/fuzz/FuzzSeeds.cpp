// wingman-fuzz-seeds <corpus dir>: writes the committed seed corpus, a handful of valid inputs
// per target, with the project's own encoders (scripts/fuzz.sh --seeds runs it).
#include "cluster/ReplicationFrames.h"
#include "live/QueryRegistry.h"
#include "protocol/BatchContainer.h"
#include "protocol/Frame.h"
#include "wire/MsgPackCodec.h"

#include <QCborValue>
#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMessageAuthenticationCode>
#include <QtEndian>

#include <cstdio>

using namespace wingman;

namespace {

// The secret fuzz_jwt.cpp verifies with.
const QByteArray kSecret = QByteArrayLiteral("wingman-fuzz-hs256-secret");

QCborValue json(const char *text)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(QByteArray(text), &error);
    if (error.error != QJsonParseError::NoError)
        qFatal("bad seed JSON %s: %s", text, qPrintable(error.errorString()));
    return QCborValue::fromJsonValue(
        document.isObject() ? QJsonValue(document.object()) : QJsonValue(document.array()));
}

QByteArray frame(const char *text)
{
    return protocol::Frame::encode(json(text).toMap());
}

const char *const kMessages[] = {
    R"({"type":"AUTH","token":"eyJhbGciOiJIUzI1NiJ9.e30.c2ln","protocolVersion":1})",
    R"({"type":"PING","timestamp":1700000000000})",
    R"({"type":"CLIENT_OP","payload":{"id":"1","mapName":"todos","key":"a","opType":"PUT",
        "record":{"value":{"title":"milk","done":false},
        "timestamp":{"millis":1700000000000,"counter":0,"nodeId":"n1"}}}})",
    R"({"type":"OP_BATCH","payload":{"writeConcern":"APPLIED","timeout":5000,"ops":[
        {"id":"2","mapName":"todos","key":"b","record":{"value":3,
         "timestamp":{"millis":1700000000001,"counter":1,"nodeId":"n1"},"ttlMs":60000}},
        {"id":"3","mapName":"todos","key":"c","opType":"REMOVE","record":{"value":null,
         "timestamp":{"millis":1700000000002,"counter":0,"nodeId":"n1"}}},
        {"id":"4","mapName":"tags","key":"k","opType":"OR_ADD","orRecord":{"value":"x",
         "timestamp":{"millis":1700000000003,"counter":0,"nodeId":"n1"},"tag":"t1"}},
        {"id":"5","mapName":"tags","key":"k","opType":"OR_REMOVE","orTag":"t1"}]}})",
    R"({"type":"QUERY_SUB","payload":{"queryId":"q1","mapName":"todos","query":{
        "where":{"done":false},"sort":{"title":"asc"},"limit":10}}})",
    R"({"type":"QUERY_SUB","payload":{"queryId":"q2","mapName":"todos","query":{"predicate":
        {"op":"and","children":[{"op":"like","attribute":"title","value":"m%"},
        {"op":"gt","attribute":"n","value":2}]}}}})",
    R"({"type":"SYNC_INIT","mapName":"todos","lastSyncTimestamp":0})",
    R"({"type":"TOPIC_PUB","payload":{"topic":"chat","data":{"text":"hi"}}})",
    R"({"type":"LOCK_REQUEST","payload":{"requestId":"r1","name":"l","ttl":1000}})",
    R"({"type":"COUNTER_SYNC","payload":{"name":"c","state":{"positive":{"n1":3},
        "negative":{"n1":1}}}})",
};

QByteArray batchOf(QByteArrayList messages)
{
    return protocol::BatchContainer::encode(messages);
}

QByteArray segment(const QByteArray &bytes)
{
    return bytes.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals);
}

QByteArray hs256Token(const QByteArray &header, const QByteArray &payload)
{
    const QByteArray input = segment(header) + '.' + segment(payload);
    return input + '.'
        + segment(QMessageAuthenticationCode::hash(input, kSecret, QCryptographicHash::Sha256));
}

QByteArray packed(const char *text)
{
    return wire::MsgPackCodec::encode(json(text));
}

QByteArray peerFrame(const QByteArray &body)
{
    QByteArray out(4, '\0');
    qToBigEndian<quint32>(quint32(body.size()), out.data());
    return out + body;
}

QByteArray replicate(quint64 seq)
{
    QByteArray entries;
    live::Change put;
    put.event.mapName = QStringLiteral("todos");
    put.event.key = QStringLiteral("a");
    put.event.record = crdt::LwwRecord { json(R"({"title":"milk"})"),
        { 1700000000000, 0, QStringLiteral("n1") }, std::nullopt };
    cluster::replication::appendEntry(entries, put);
    live::Change tag;
    tag.event.mapName = QStringLiteral("tags");
    tag.event.key = QStringLiteral("k");
    tag.event.orTag = QStringLiteral("t1");
    cluster::replication::appendEntry(entries, tag);
    return cluster::replication::replicateBody(seq, 2, entries);
}

bool write(const QString &dir, const QString &target, int index, const QByteArray &bytes)
{
    if (!QDir().mkpath(dir + QLatin1Char('/') + target))
        return false;
    QFile file(
        QStringLiteral("%1/%2/seed-%3").arg(dir, target).arg(index, 2, 10, QLatin1Char('0')));
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate)
        && file.write(bytes) == bytes.size();
}

} // namespace

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
        return 2;
    }
    const QString dir = QString::fromLocal8Bit(argv[1]);
    QHash<QString, QByteArrayList> seeds;

    for (const char *message : kMessages)
        seeds[QStringLiteral("fuzz_frame")].append(frame(message));
    seeds[QStringLiteral("fuzz_frame")].append(
        QByteArray(R"({"type":"PING","timestamp":1})")); // a JSON text frame

    for (int i : { 2, 3 })
        seeds[QStringLiteral("fuzz_opbatch")].append(frame(kMessages[i]));

    seeds[QStringLiteral("fuzz_batch")] = {
        batchOf({ frame(R"({"type":"PONG","timestamp":1})") }),
        batchOf({ frame(R"({"type":"OP_ACK","payload":{"lastId":"4"}})"),
            frame(R"({"type":"SERVER_EVENT","payload":{"mapName":"todos","eventType":"PUT",
                "key":"a","record":{"value":1,"timestamp":{"millis":1,"counter":0,
                "nodeId":"s"}}}})") }),
        protocol::BatchContainer::encodeData({ frame(kMessages[1]), frame(kMessages[6]) }),
    };

    const QByteArray hs = QByteArrayLiteral(R"({"alg":"HS256","typ":"JWT"})");
    seeds[QStringLiteral("fuzz_jwt")] = {
        '\0' + hs256Token(hs, R"({"sub":"alice","roles":["ADMIN"],"exp":1900000000})"),
        '\0' + hs256Token(hs, R"({"userId":"bob","nbf":1700000000,"exp":1800000100})"),
        '\1' + hs256Token(hs, R"({"sub":"alice"})"),
        '\1' + segment(R"({"alg":"none"})") + '.' + segment(R"({"sub":"eve"})") + '.',
        '\2' + QByteArray(R"({"sub":"carol","roles":["USER","EDITOR"],"exp":1800000060})"),
        '\2' + hs + '\0' + QByteArray(R"({"userId":"dave","exp":1799999999.5})"),
    };

    seeds[QStringLiteral("fuzz_query")] = {
        packed(R"({"where":{"done":false},"sort":{"title":"asc"},"limit":2})")
            + packed(R"({"title":"milk","done":false})")
            + packed(R"({"title":"eggs","done":false})") + packed(R"({"title":"tea","done":true})"),
        packed(R"({"predicate":{"op":"or","children":[{"op":"regex","attribute":"a.b",
            "value":"^x[0-9]+"},{"op":"not","children":[{"op":"lte","attribute":"n",
            "value":5.5}]}]},"sort":{"n":"desc"}})")
            + packed(R"({"a":{"b":"x12"},"n":3})") + packed(R"({"n":7})") + packed("[1,2]"),
        packed(R"({"where":{"n":{"$gte":2},"s":{"$ne":"b"}}})") + packed(R"({"n":2,"s":"a"})")
            + packed(R"({"n":1.5,"s":"c"})"),
    };

    seeds[QStringLiteral("fuzz_cluster")] = {
        peerFrame(replicate(7)),
        peerFrame(replicate(8)) + peerFrame(cluster::replication::ackBody(8)),
        peerFrame(packed(R"({"type":"HELLO","nodeId":"n2","protocolVersion":1,
            "incarnation":3})"))
            + peerFrame(packed(R"({"type":"GC","phase":"REPORT","horizon":5})")),
    };

    for (auto it = seeds.cbegin(); it != seeds.cend(); ++it) {
        for (int i = 0; i < it.value().size(); ++i) {
            if (!write(dir, it.key(), i, it.value().at(i))) {
                fprintf(stderr, "cannot write the seeds of %s into %s\n", qPrintable(it.key()),
                    qPrintable(dir));
                return 1;
            }
        }
    }
    return 0;
}
