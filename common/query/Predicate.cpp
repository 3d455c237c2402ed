#include "query/Predicate.h"

#include <QCborArray>

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <utility>

namespace wingman::query {

namespace {

// The protocol decoder already bounds nesting; this keeps a hand-built value from recursing
// without end.
constexpr int kMaxDepth = 64;

constexpr std::array<std::pair<Predicate::Op, const char *>, 14> kOpNames { {
    { Predicate::Op::Eq, "eq" },
    { Predicate::Op::Neq, "neq" },
    { Predicate::Op::Gt, "gt" },
    { Predicate::Op::Gte, "gte" },
    { Predicate::Op::Lt, "lt" },
    { Predicate::Op::Lte, "lte" },
    { Predicate::Op::Like, "like" },
    { Predicate::Op::Regex, "regex" },
    { Predicate::Op::Contains, "contains" },
    { Predicate::Op::ContainsAll, "containsAll" },
    { Predicate::Op::ContainsAny, "containsAny" },
    { Predicate::Op::And, "and" },
    { Predicate::Op::Or, "or" },
    { Predicate::Op::Not, "not" },
} };

bool isStringArray(const QCborValue &value)
{
    if (!value.isArray())
        return false;
    const QCborArray array = value.toArray();
    return std::all_of(
        array.cbegin(), array.cend(), [](const QCborValue &item) { return item.isString(); });
}

// SQL LIKE as TopGun has it: '%' is any run, '_' any one character, no escape character. The
// result is matched against the whole string; it has no nested repetition, and RE2 is linear
// anyway.
std::string likeToRegex(const QString &like)
{
    std::string regex;
    QString literal;
    const auto flush = [&] {
        regex += RE2::QuoteMeta(literal.toStdString());
        literal.clear();
    };
    for (const QChar c : like) {
        if (c == u'%' || c == u'_') {
            flush();
            regex += c == u'%' ? ".*" : ".";
        } else {
            literal += c;
        }
    }
    flush();
    return regex;
}

std::shared_ptr<const RE2> compile(Predicate::Op op, const QString &source)
{
    RE2::Options options;
    options.set_encoding(RE2::Options::EncodingUTF8);
    options.set_log_errors(false);
    if (op == Predicate::Op::Like) {
        // TopGun's LIKE: case-insensitive, '%' spans lines.
        options.set_case_sensitive(false);
        options.set_dot_nl(true);
        return std::make_shared<const RE2>(likeToRegex(source), options);
    }
    // JavaScript RegExp without flags: case-sensitive, '.' stops at a newline, '^'/'$' at the
    // ends of the text; Matcher runs it as an unanchored search.
    return std::make_shared<const RE2>(source.toStdString(), options);
}

std::optional<Predicate> parse(
    const QCborValue &value, const QString &path, int depth, QString *error);

std::optional<Predicate> fail(QString *error, const QString &path, const QString &reason)
{
    if (error)
        *error = QStringLiteral("%1: %2").arg(path, reason);
    return std::nullopt;
}

std::optional<Predicate> parseGroup(
    Predicate::Op op, const QCborMap &map, const QString &path, int depth, QString *error)
{
    const QCborValue children = map.value(QStringLiteral("children"));
    if (!children.isUndefined() && !children.isNull() && !children.isArray())
        return fail(error, path, QStringLiteral("children must be an array"));
    QList<Predicate> parsed;
    const QCborArray array = children.toArray();
    for (qsizetype i = 0; i < array.size(); ++i) {
        auto child = parse(
            array.at(i), QStringLiteral("%1.children[%2]").arg(path).arg(i), depth + 1, error);
        if (!child)
            return std::nullopt;
        parsed.append(std::move(*child));
    }
    if (op == Predicate::Op::Not && parsed.size() != 1)
        return fail(error, path, QStringLiteral("'not' needs exactly one child"));
    return Predicate::group(op, std::move(parsed));
}

std::optional<Predicate> parseLeaf(
    Predicate::Op op, const QCborMap &map, const QString &path, QString *error)
{
    const QString name = Predicate::opName(op);
    const QCborValue attribute = map.value(QStringLiteral("attribute"));
    if (!attribute.isString() || attribute.toString().isEmpty())
        return fail(error, path, QStringLiteral("'%1' needs an attribute").arg(name));
    const QCborValue value = map.value(QStringLiteral("value"));
    switch (op) {
    case Predicate::Op::Like:
    case Predicate::Op::Regex:
    case Predicate::Op::Contains:
        if (!value.isString())
            return fail(error, path, QStringLiteral("'%1' needs a string value").arg(name));
        break;
    case Predicate::Op::ContainsAll:
    case Predicate::Op::ContainsAny:
        if (!isStringArray(value))
            return fail(error, path, QStringLiteral("'%1' needs an array of strings").arg(name));
        break;
    default:
        break;
    }
    Predicate leaf = Predicate::leaf(op, attribute.toString(), value);
    if ((op == Predicate::Op::Like || op == Predicate::Op::Regex) && !leaf.hasValidPattern()) {
        return fail(error, path,
            QStringLiteral("bad %1 pattern '%2': %3")
                .arg(name, value.toString(), leaf.patternError()));
    }
    return leaf;
}

std::optional<Predicate> parse(
    const QCborValue &value, const QString &path, int depth, QString *error)
{
    if (depth > kMaxDepth)
        return fail(error, path, QStringLiteral("nested too deeply"));
    if (!value.isMap())
        return fail(error, path, QStringLiteral("expected a map"));
    const QCborMap map = value.toMap();
    const QCborValue opValue = map.value(QStringLiteral("op"));
    if (!opValue.isString())
        return fail(error, path, QStringLiteral("missing op"));
    const auto op = Predicate::opFromName(opValue.toString());
    if (!op)
        return fail(error, path, QStringLiteral("unknown op '%1'").arg(opValue.toString()));
    if (*op == Predicate::Op::And || *op == Predicate::Op::Or || *op == Predicate::Op::Not)
        return parseGroup(*op, map, path, depth, error);
    return parseLeaf(*op, map, path, error);
}

} // namespace

Predicate Predicate::leaf(Op op, const QString &attribute, const QCborValue &value)
{
    Predicate p;
    p.m_op = op;
    p.m_attribute = attribute;
    p.m_value = value;
    p.compilePattern();
    return p;
}

Predicate Predicate::group(Op op, QList<Predicate> children)
{
    Predicate p;
    p.m_op = op;
    p.m_children = std::move(children);
    return p;
}

void Predicate::compilePattern()
{
    if (m_op == Op::Regex || m_op == Op::Like)
        m_pattern = compile(m_op, m_value.toString());
}

bool Predicate::hasValidPattern() const
{
    return m_pattern && m_pattern->ok();
}

QString Predicate::patternError() const
{
    if (!m_pattern || m_pattern->ok())
        return {};
    return QString::fromStdString(m_pattern->error());
}

bool Predicate::patternMatches(const QString &text) const
{
    if (!hasValidPattern())
        return false;
    const std::string utf8 = text.toStdString();
    if (m_op == Op::Like)
        return RE2::FullMatch(utf8, *m_pattern);
    return RE2::PartialMatch(utf8, *m_pattern);
}

std::optional<Predicate> Predicate::fromCbor(
    const QCborValue &value, QString *error, const QString &path)
{
    return parse(value, path, 0, error);
}

QCborMap Predicate::toCbor() const
{
    QCborMap map;
    map.insert(QStringLiteral("op"), opName(m_op));
    if (!isLeaf()) {
        QCborArray children;
        for (const Predicate &child : m_children)
            children.append(child.toCbor());
        map.insert(QStringLiteral("children"), children);
        return map;
    }
    map.insert(QStringLiteral("attribute"), m_attribute);
    if (!m_value.isUndefined())
        map.insert(QStringLiteral("value"), m_value);
    return map;
}

QString Predicate::opName(Op op)
{
    for (const auto &[candidate, name] : kOpNames) {
        if (candidate == op)
            return QString::fromLatin1(name);
    }
    return {};
}

std::optional<Predicate::Op> Predicate::opFromName(QStringView name)
{
    for (const auto &[op, candidate] : kOpNames) {
        if (name == QLatin1String(candidate))
            return op;
    }
    return std::nullopt;
}

bool operator==(const Predicate &a, const Predicate &b)
{
    return a.m_op == b.m_op && a.m_attribute == b.m_attribute && a.m_value == b.m_value
        && a.m_children == b.m_children;
}

} // namespace wingman::query
