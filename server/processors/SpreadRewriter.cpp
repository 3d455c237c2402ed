#include "processors/SpreadRewriter.h"

#include <QList>
#include <QStringList>

namespace wingman::processors {

using namespace Qt::StringLiterals;

namespace {

struct Token {
    enum class Kind { Punct, Word, Literal };
    Kind kind = Kind::Punct;
    qsizetype start = 0; // in the code
    qsizetype end = 0;
    QStringView text(const QString &code) const
    {
        return QStringView(code).mid(start, end - start);
    }
};

bool isWordChar(QChar c)
{
    return c.isLetterOrNumber() || c == u'_' || c == u'$';
}

// After these a '/' starts a regular expression rather than a division.
bool regexMayFollow(const QList<Token> &tokens, const QString &code)
{
    if (tokens.isEmpty())
        return true;
    const Token &last = tokens.last();
    const QStringView text = last.text(code);
    if (last.kind == Token::Kind::Literal)
        return false;
    if (last.kind == Token::Kind::Word) {
        static const QStringList keywords { u"return"_s, u"typeof"_s, u"instanceof"_s, u"in"_s,
            u"of"_s, u"new"_s, u"delete"_s, u"void"_s, u"throw"_s, u"case"_s, u"do"_s, u"else"_s,
            u"yield"_s, u"await"_s };
        return keywords.contains(text.toString());
    }
    return text != u")" && text != u"]" && text != u"}";
}

// Skips a quoted string or template literal starting at i; returns the index after it.
qsizetype skipQuoted(const QString &code, qsizetype i)
{
    const QChar quote = code.at(i);
    int depth = 0; // ${ } nesting inside a template literal
    for (++i; i < code.size(); ++i) {
        const QChar c = code.at(i);
        if (c == u'\\') {
            ++i;
            continue;
        }
        if (quote == u'`') {
            if (depth == 0 && c == u'`')
                return i + 1;
            if (c == u'$' && i + 1 < code.size() && code.at(i + 1) == u'{') {
                ++depth;
                ++i;
            } else if (depth > 0 && c == u'{') {
                ++depth;
            } else if (depth > 0 && c == u'}') {
                --depth;
            } else if (depth > 0 && (c == u'\'' || c == u'"')) {
                i = skipQuoted(code, i) - 1;
            }
            continue;
        }
        if (c == quote || c == u'\n')
            return i + 1;
    }
    return i;
}

qsizetype skipRegex(const QString &code, qsizetype i)
{
    bool inClass = false;
    for (++i; i < code.size(); ++i) {
        const QChar c = code.at(i);
        if (c == u'\\') {
            ++i;
        } else if (c == u'[') {
            inClass = true;
        } else if (c == u']') {
            inClass = false;
        } else if (c == u'/' && !inClass) {
            ++i;
            while (i < code.size() && isWordChar(code.at(i)))
                ++i;
            return i;
        } else if (c == u'\n') {
            return i;
        }
    }
    return i;
}

std::optional<QList<Token>> tokenize(const QString &code)
{
    QList<Token> tokens;
    qsizetype i = 0;
    while (i < code.size()) {
        const QChar c = code.at(i);
        if (c.isSpace()) {
            ++i;
        } else if (c == u'/' && i + 1 < code.size() && code.at(i + 1) == u'/') {
            while (i < code.size() && code.at(i) != u'\n')
                ++i;
        } else if (c == u'/' && i + 1 < code.size() && code.at(i + 1) == u'*') {
            const qsizetype close = code.indexOf(QStringLiteral("*/"), i + 2);
            if (close < 0)
                return std::nullopt;
            i = close + 2;
        } else if (c == u'\'' || c == u'"' || c == u'`') {
            const qsizetype end = skipQuoted(code, i);
            tokens.append({ Token::Kind::Literal, i, end });
            i = end;
        } else if (c == u'/' && regexMayFollow(tokens, code)) {
            const qsizetype end = skipRegex(code, i);
            tokens.append({ Token::Kind::Literal, i, end });
            i = end;
        } else if (isWordChar(c)) {
            qsizetype end = i;
            while (end < code.size() && (isWordChar(code.at(end)) || code.at(end) == u'.')) {
                // A '.' continues a number (1.5) but not a word (a.b).
                if (code.at(end) == u'.' && !code.at(i).isDigit())
                    break;
                ++end;
            }
            tokens.append(
                { code.at(i).isDigit() ? Token::Kind::Literal : Token::Kind::Word, i, end });
            i = end;
        } else if (QStringView(code).mid(i, 3) == u"...") {
            tokens.append({ Token::Kind::Punct, i, i + 3 });
            i += 3;
        } else if (c == u'=' && i + 1 < code.size()
            && (code.at(i + 1) == u'=' || code.at(i + 1) == u'>')) {
            // ==, ===, => are never the '=' of a destructuring assignment.
            qsizetype end = i + 2;
            if (end < code.size() && code.at(end) == u'=')
                ++end;
            tokens.append({ Token::Kind::Punct, i, end });
            i = end;
        } else {
            tokens.append({ Token::Kind::Punct, i, i + 1 });
            ++i;
        }
    }
    return tokens;
}

class Rewriter
{
public:
    Rewriter(const QString &code, QList<Token> tokens)
        : m_code(code)
        , m_tokens(std::move(tokens))
        , m_match(m_tokens.size(), -1)
    { }

    bool match()
    {
        QList<qsizetype> open;
        for (qsizetype i = 0; i < m_tokens.size(); ++i) {
            const QStringView t = text(i);
            if (t == u"{" || t == u"(" || t == u"[") {
                open.append(i);
            } else if (t == u"}" || t == u")" || t == u"]") {
                if (open.isEmpty())
                    return false;
                m_match[open.takeLast()] = i;
            }
        }
        return open.isEmpty();
    }

    // The code of tokens [from, to), with what follows each up to the next token.
    QString emit(qsizetype from, qsizetype to)
    {
        QString out;
        for (qsizetype i = from; i < to; ++i) {
            if (text(i) == u"{" && isSpreadLiteral(i)) {
                out += spreadLiteral(i);
                i = m_match[i];
                out += trivia(i);
                continue;
            }
            out += m_code.mid(m_tokens[i].start, m_tokens[i].end - m_tokens[i].start);
            out += trivia(i);
        }
        return out;
    }

    bool rewrote() const { return m_rewrote; }

private:
    QStringView text(qsizetype i) const { return m_tokens[i].text(m_code); }

    // Whitespace and comments after token i, up to the next token.
    QString trivia(qsizetype i) const
    {
        const qsizetype end = i + 1 < m_tokens.size() ? m_tokens[i + 1].start : m_code.size();
        return m_code.mid(m_tokens[i].end, end - m_tokens[i].end);
    }

    // The elements of the braces at open: [first, last) token ranges split at top-level commas.
    QList<std::pair<qsizetype, qsizetype>> elements(qsizetype open) const
    {
        QList<std::pair<qsizetype, qsizetype>> parts;
        const qsizetype close = m_match[open];
        qsizetype start = open + 1;
        for (qsizetype i = open + 1; i < close; ++i) {
            if (m_match[i] > i) {
                i = m_match[i];
                continue;
            }
            if (text(i) == u",") {
                parts.append({ start, i });
                start = i + 1;
            }
        }
        parts.append({ start, close });
        return parts;
    }

    bool isSpreadLiteral(qsizetype open) const
    {
        const qsizetype close = m_match[open];
        if (close < 0)
            return false;
        // A destructuring pattern, not a literal.
        if (open > 0) {
            const QStringView before = text(open - 1);
            if (before == u"const" || before == u"let" || before == u"var")
                return false;
        }
        if (close + 1 < m_tokens.size() && text(close + 1) == u"=")
            return false;
        for (const auto &[first, last] : elements(open)) {
            if (first < last && text(first) == u"...")
                return true;
        }
        return false;
    }

    QString spreadLiteral(qsizetype open)
    {
        m_rewrote = true;
        QString out = QStringLiteral("Object.assign({}");
        QStringList plain;
        const auto flush = [&] {
            if (plain.isEmpty())
                return;
            out += QStringLiteral(", {") + plain.join(QLatin1Char(',')) + QLatin1Char('}');
            plain.clear();
        };
        for (const auto &[first, last] : elements(open)) {
            if (first == last)
                continue;
            if (text(first) == u"...") {
                flush();
                out += QStringLiteral(", (") + emit(first + 1, last) + QLatin1Char(')');
            } else {
                plain.append(emit(first, last));
            }
        }
        flush();
        return out + QLatin1Char(')');
    }

    const QString &m_code;
    QList<Token> m_tokens;
    QList<qsizetype> m_match;
    bool m_rewrote = false;
};

} // namespace

std::optional<QString> SpreadRewriter::rewrite(const QString &code)
{
    if (!code.contains(QStringLiteral("...")))
        return std::nullopt;
    std::optional<QList<Token>> tokens = tokenize(code);
    if (!tokens)
        return std::nullopt;
    if (tokens->isEmpty())
        return std::nullopt;
    const qsizetype count = tokens->size();
    const qsizetype first = tokens->first().start;
    Rewriter rewriter(code, std::move(*tokens));
    if (!rewriter.match())
        return std::nullopt;
    const QString out = code.left(first) + rewriter.emit(0, count);
    if (!rewriter.rewrote())
        return std::nullopt;
    return out;
}

} // namespace wingman::processors
