// A live query against stored records, as the query registry evaluates them: the input is one
// MessagePack query (QUERY_SUB's `query`, parsed by Query::fromCbor) followed by MessagePack
// record values, kept packed as storage keeps them. Checked on the way: the packed and the
// decoded value match alike, the query's own encoding parses and matches alike, and the sort
// order is antisymmetric.
#include "FuzzSupport.h"

#include "crdt/Value.h"
#include "query/Matcher.h"
#include "query/Query.h"
#include "wire/MsgPackCodec.h"

using namespace wingman;

namespace {

constexpr int kMaxRecords = 16;

int sign(int v)
{
    return (v > 0) - (v < 0);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    fuzz::silenceLogging();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    QByteArrayView input = fuzz::bytesOf(data, size);
    const qsizetype querySize = wire::MsgPackCodec::valueSize(input);
    if (querySize <= 0)
        return 0;
    const wire::DecodeResult queryValue = wire::MsgPackCodec::decode(input.first(querySize));
    input = input.sliced(querySize);
    if (!queryValue.ok)
        return 0;
    QString error;
    const std::optional<query::Query> query = query::Query::fromCbor(queryValue.value, &error);
    if (!query)
        return 0;
    const std::optional<query::Query> reparsed = query::Query::fromCbor(query->toCbor(), &error);
    fuzz::require(reparsed.has_value(), "a query's own encoding parses");

    QList<query::Matcher::Entry> entries;
    while (!input.isEmpty() && entries.size() < kMaxRecords) {
        const qsizetype recordSize = wire::MsgPackCodec::valueSize(input);
        if (recordSize <= 0)
            break;
        const crdt::Value packed = crdt::Value::fromPacked(input.first(recordSize).toByteArray());
        input = input.sliced(recordSize);
        const QCborValue tree = packed.toCbor();
        const bool matched = query::Matcher::matches(*query, packed);
        fuzz::require(matched == query::Matcher::matches(*query, tree),
            "a packed and a decoded value match alike");
        fuzz::require(matched == query::Matcher::matches(*reparsed, tree),
            "the reparsed query matches alike");
        if (matched)
            entries.append({ QString::number(entries.size()), tree });
    }

    for (const query::Matcher::Entry &a : entries) {
        const QList<QCborValue> valuesA = query::Matcher::sortValues(*query, a.value);
        for (const query::Matcher::Entry &b : entries) {
            const QList<QCborValue> valuesB = query::Matcher::sortValues(*query, b.value);
            const int ab = query::Matcher::compare(*query, valuesA, a.key, valuesB, b.key);
            const int ba = query::Matcher::compare(*query, valuesB, b.key, valuesA, a.key);
            fuzz::require(sign(ab) == -sign(ba), "the sort order is antisymmetric");
            fuzz::require(
                (ab < 0) == query::Matcher::lessThan(*query, a, b), "compare and lessThan agree");
        }
    }
    bool hasMore = false;
    const QList<query::Matcher::Entry> sorted
        = query::Matcher::sortAndLimit(*query, entries, &hasMore);
    fuzz::require(query->limit() <= 0 || sorted.size() <= query->limit(), "the limit holds");
    return 0;
}
