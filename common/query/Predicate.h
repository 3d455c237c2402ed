#pragma once

#include <QCborMap>
#include <QCborValue>
#include <QList>
#include <QString>

#include <memory>
#include <optional>

namespace re2 {
class RE2;
}

namespace wingman::query {

// One node of a query's predicate tree, the protocol's Predicate
// `{op, attribute?, value?, children?: [Predicate]}`. Leaves (eq neq gt gte lt lte like regex
// contains containsAll containsAny) test one attribute of a record value; and/or/not combine
// children. like and regex patterns are compiled once, when the node is built, and shared by
// copies. They run on RE2, whose matching time is linear in the input, so no pattern can stall
// the event loop by backtracking; patterns RE2 does not support (backreferences, lookaround) are
// refused. Evaluation is in Matcher.
class Predicate
{
public:
    enum class Op {
        Eq,
        Neq,
        Gt,
        Gte,
        Lt,
        Lte,
        Like,
        Regex,
        Contains,
        ContainsAll,
        ContainsAny,
        And,
        Or,
        Not
    };

    // An empty "and": matches every record.
    Predicate() = default;

    // A leaf. A like/regex leaf whose pattern does not compile never matches; fromCbor reports
    // such a pattern as an error instead.
    static Predicate leaf(Op op, const QString &attribute, const QCborValue &value);
    // and/or over children, or not over exactly one child.
    static Predicate group(Op op, QList<Predicate> children);

    // Parses and validates a protocol predicate. On failure returns nullopt and sets *error to a
    // reason naming the offending node, e.g. "predicate.children[1]: unknown op 'between'".
    static std::optional<Predicate> fromCbor(
        const QCborValue &value, QString *error, const QString &path = QStringLiteral("predicate"));
    QCborMap toCbor() const;

    Op op() const { return m_op; }
    bool isLeaf() const { return m_op != Op::And && m_op != Op::Or && m_op != Op::Not; }
    const QString &attribute() const { return m_attribute; }
    const QCborValue &value() const { return m_value; }
    const QList<Predicate> &children() const { return m_children; }
    // True when this like/regex leaf's pattern compiled.
    bool hasValidPattern() const;
    // Why the pattern did not compile (empty when it did or the leaf has none).
    QString patternError() const;
    // Whether the like/regex pattern matches the text: a search for regex, the whole string for
    // like. False when the pattern is invalid or the leaf has none.
    bool patternMatches(const QString &text) const;

    static QString opName(Op op);
    static std::optional<Op> opFromName(QStringView name);

    friend bool operator==(const Predicate &a, const Predicate &b);

private:
    void compilePattern();

    Op m_op = Op::And;
    QString m_attribute;
    QCborValue m_value;
    QList<Predicate> m_children;
    std::shared_ptr<const re2::RE2> m_pattern;
};

} // namespace wingman::query
