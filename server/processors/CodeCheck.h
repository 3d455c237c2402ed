#pragma once

#include <QString>

namespace wingman::processors {

// The text check every processor and resolver code passes before it is run or stored
// (docs/protocol.md "Entry processors"): no eval, Function, process, global, require, import,
// fetch, XMLHttpRequest or timers as whole words. The sandbox has none of them anyway; the
// check gives the client TopGun's answer.
class CodeCheck
{
public:
    // The first forbidden pattern code matches (as its regular expression, e.g. "\beval\b"),
    // empty when there is none.
    static QString forbiddenPattern(const QString &code);
};

} // namespace wingman::processors
