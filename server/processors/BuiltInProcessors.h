#pragma once

#include "processors/Sandbox.h"

#include <optional>

namespace wingman::processors {

// TopGun's BuiltInProcessors (docs/protocol.md "Entry processors"), named builtin:<name>, run
// natively: the same results as their JavaScript for the values they are meant for, without an
// engine. For anything else (an unknown name, a value of a type the native form does not take,
// such as a string to increment) run() gives nullopt and the code sent runs in the sandbox, so
// the answer stays the code's.
class BuiltInProcessors
{
public:
    // value: the key's current value, undefined when absent.
    static std::optional<ProcessorRun> run(
        const QString &name, const QCborValue &value, const QCborValue &args);
    static bool isBuiltIn(const QString &name);
};

} // namespace wingman::processors
