#pragma once

#include <QString>

#include <optional>

namespace wingman::processors {

// Qt 6.4's JavaScript engine lacks object spread in literals ({...a, b: 1}), which scripts written
// for TopGun's sandbox use. This rewrites each such literal as Object.assign({}, a, {b: 1}),
// which gives the same object. It reads the code token by token (strings, template literals,
// comments and regular expressions are skipped as wholes) and leaves everything else as written;
// the Sandbox only tries it on code the engine refused.
class SpreadRewriter
{
public:
    // The rewritten code; nullopt when it has no object literal with a spread.
    static std::optional<QString> rewrite(const QString &code);
};

} // namespace wingman::processors
