#include "processors/CodeCheck.h"

#include <QList>
#include <QRegularExpression>

namespace wingman::processors {

QString CodeCheck::forbiddenPattern(const QString &code)
{
    static const QList<QRegularExpression> patterns = [] {
        QList<QRegularExpression> list;
        for (const char *word : { "eval", "Function", "process", "global", "require", "import",
                 "fetch", "XMLHttpRequest", "setTimeout", "setInterval", "setImmediate" }) {
            list.append(QRegularExpression(QStringLiteral("\\b%1\\b").arg(QLatin1String(word))));
        }
        return list;
    }();
    for (const QRegularExpression &pattern : patterns) {
        if (pattern.match(code).hasMatch())
            return pattern.pattern();
    }
    return {};
}

} // namespace wingman::processors
