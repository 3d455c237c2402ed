#pragma once

#include "protocol/MessageTypes.h"

namespace wingman::protocol {

// Full-text search (docs/protocol.md "Full-text search"); conventions as in AuthMessages.h.

// SEARCH and SEARCH_SUB options: limit and minScore as given, boost per field.
struct SearchOptions {
    std::optional<qint64> limit; // >= 0
    std::optional<double> minScore;
    std::optional<QMap<QString, double>> boost;

    static std::optional<SearchOptions> fromCbor(
        const QCborMap &map, DecodeError *error = nullptr, const FieldPath &path = {});
    QCborMap toCbor() const;
    friend bool operator==(const SearchOptions &, const SearchOptions &) = default;
};

// One hit of SEARCH_RESP results[].
struct SearchResult {
    QString key;
    QCborValue value;
    double score = 0;
    QStringList matchedTerms;

    static std::optional<SearchResult> fromCbor(
        const QCborMap &map, DecodeError *error = nullptr, const FieldPath &path = {});
    QCborMap toCbor() const;
    friend bool operator==(const SearchResult &, const SearchResult &) = default;
};

struct SearchMessage {
    static constexpr MessageType kType = MessageType::Search;
    QString requestId;
    QString mapName;
    QString query;
    std::optional<SearchOptions> options;

    static std::optional<SearchMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const SearchMessage &, const SearchMessage &) = default;
};

// The answer to SEARCH, and the first result set of a SEARCH_SUB (requestId = subscriptionId).
struct SearchRespMessage {
    static constexpr MessageType kType = MessageType::SearchResp;
    QString requestId;
    QList<SearchResult> results;
    qint64 totalCount = 0;
    std::optional<QString> error;

    static std::optional<SearchRespMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const SearchRespMessage &, const SearchRespMessage &) = default;
};

struct SearchSubMessage {
    static constexpr MessageType kType = MessageType::SearchSub;
    QString subscriptionId;
    QString mapName;
    QString query;
    std::optional<SearchOptions> options;

    static std::optional<SearchSubMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const SearchSubMessage &, const SearchSubMessage &) = default;
};

struct SearchUpdateMessage {
    static constexpr MessageType kType = MessageType::SearchUpdate;
    QString subscriptionId;
    QString key;
    QCborValue value; // nil on LEAVE
    double score = 0;
    QStringList matchedTerms;
    SearchChange change = SearchChange::Update; // payload.type on the wire

    static std::optional<SearchUpdateMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const SearchUpdateMessage &, const SearchUpdateMessage &) = default;
};

struct SearchUnsubMessage {
    static constexpr MessageType kType = MessageType::SearchUnsub;
    QString subscriptionId;

    static std::optional<SearchUnsubMessage> fromCbor(
        const QCborMap &message, DecodeError *error = nullptr);
    QCborMap toCbor() const;
    friend bool operator==(const SearchUnsubMessage &, const SearchUnsubMessage &) = default;
};

} // namespace wingman::protocol
