#include "protocol/SearchMessages.h"

#include "protocol/Schema.h"

#include <cmath>

namespace wingman::protocol {

using namespace schema;

namespace {

bool readReal(const QCborValue &value, double &out, DecodeError *error, const FieldPath &path)
{
    if (value.isInteger())
        out = double(value.toInteger());
    else if (value.isDouble() && std::isfinite(value.toDouble()))
        out = value.toDouble();
    else
        return failRequired(value, error, path, QLatin1StringView("must be a finite number"));
    return true;
}

// A score or threshold: any finite number, written as float64.
struct Real {
    static bool read(
        const QCborValue &value, double &out, DecodeError *error, const FieldPath &path)
    {
        return readReal(value, out, error, path);
    }
    static QCborValue toCbor(double n) { return n; }
    static void write(wire::MsgPackWriter &out, double n) { out.float64(n); }
};

struct Count {
    static bool read(
        const QCborValue &value, qint64 &out, DecodeError *error, const FieldPath &path)
    {
        if (!Integer::read(value, out, error, path))
            return false;
        return out >= 0 || failAt(error, path, QStringLiteral("must not be negative"));
    }
    static QCborValue toCbor(qint64 n) { return n; }
    static void write(wire::MsgPackWriter &out, qint64 n) { out.integer(n); }
};

// Field name -> weight; a bad weight is reported at the map.
struct Boosts {
    static bool read(const QCborValue &value, QMap<QString, double> &out, DecodeError *error,
        const FieldPath &path)
    {
        if (!requireMap(value, error, path))
            return false;
        const QCborMap map = value.toMap();
        for (auto it = map.cbegin(); it != map.cend(); ++it) {
            if (!it.key().isString())
                return failAt(error, path, QStringLiteral("keys must be field names"));
            const QString field = it.key().toString();
            if (!readReal(it.value(), out[field], error, path))
                return false;
        }
        return true;
    }
    static QCborValue toCbor(const QMap<QString, double> &boost)
    {
        QCborMap map;
        for (auto it = boost.cbegin(); it != boost.cend(); ++it)
            map.insert(it.key(), it.value());
        return map;
    }
};

// Tables keep one field a line, in wire order.
// clang-format off
using SearchOptionsFields = Fields<
    Field<"limit", &SearchOptions::limit, Optional<Count>>,
    Field<"minScore", &SearchOptions::minScore, Optional<Real>>,
    Field<"boost", &SearchOptions::boost, Optional<Boosts>>>;

using SearchResultFields = Fields<
    Field<"key", &SearchResult::key>,
    Field<"value", &SearchResult::value, RecordValue>,
    Field<"score", &SearchResult::score, Real>,
    Field<"matchedTerms", &SearchResult::matchedTerms>>;

using OptionsCodec = Optional<Nested<SearchOptionsFields>>;

using Search = PayloadMessage<SearchMessage, Fields<
    Field<"requestId", &SearchMessage::requestId>,
    Field<"mapName", &SearchMessage::mapName>,
    Field<"query", &SearchMessage::query>,
    Field<"options", &SearchMessage::options, OptionsCodec>>>;

using SearchResp = PayloadMessage<SearchRespMessage, Fields<
    Field<"requestId", &SearchRespMessage::requestId>,
    Field<"results", &SearchRespMessage::results>,
    Field<"totalCount", &SearchRespMessage::totalCount>,
    Field<"error", &SearchRespMessage::error>>>;

using SearchSub = PayloadMessage<SearchSubMessage, Fields<
    Field<"subscriptionId", &SearchSubMessage::subscriptionId>,
    Field<"mapName", &SearchSubMessage::mapName>,
    Field<"query", &SearchSubMessage::query>,
    Field<"options", &SearchSubMessage::options, OptionsCodec>>>;

using SearchUpdate = PayloadMessage<SearchUpdateMessage, Fields<
    Field<"subscriptionId", &SearchUpdateMessage::subscriptionId>,
    Field<"key", &SearchUpdateMessage::key>,
    Field<"value", &SearchUpdateMessage::value, RecordValue>,
    Field<"score", &SearchUpdateMessage::score, Real>,
    Field<"matchedTerms", &SearchUpdateMessage::matchedTerms>,
    Field<"type", &SearchUpdateMessage::change>>>;

using SearchUnsub = PayloadMessage<SearchUnsubMessage, Fields<
    Field<"subscriptionId", &SearchUnsubMessage::subscriptionId>>>;
// clang-format on

} // namespace

WINGMAN_SHAPE_CODEC(SearchOptions, SearchOptionsFields);
WINGMAN_SHAPE_CODEC(SearchResult, SearchResultFields);
WINGMAN_MESSAGE_CODEC(SearchMessage, Search);
WINGMAN_MESSAGE_CODEC(SearchRespMessage, SearchResp);
WINGMAN_MESSAGE_CODEC(SearchSubMessage, SearchSub);
WINGMAN_MESSAGE_CODEC(SearchUpdateMessage, SearchUpdate);
WINGMAN_MESSAGE_CODEC(SearchUnsubMessage, SearchUnsub);

} // namespace wingman::protocol
