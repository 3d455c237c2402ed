#include "processors/Sandbox.h"

#include "processors/ScriptValues.h"
#include "processors/SpreadRewriter.h"
#include "processors/Watchdog.h"

#include <QJSEngine>

namespace wingman::processors {

namespace {

// Freezes every built-in, its prototype and the global object: a script can neither leave a
// global behind nor change what the next script's built-ins do.
const QString kFreeze = QStringLiteral(R"((function (g) {
    'use strict';
    for (const name of Object.getOwnPropertyNames(g)) {
        const v = g[name];
        if (v && (typeof v === 'object' || typeof v === 'function')) {
            Object.freeze(v);
            if (v.prototype)
                Object.freeze(v.prototype);
        }
    }
    Object.freeze(Object.getPrototypeOf(function () {}));
    Object.freeze(g);
    return true;
})(this))");

// Calls fn and says whether it threw: QJSValue::call cannot tell a thrown string from a returned
// one.
const QString kTrampoline = QStringLiteral(R"((function (fn, a, b, c) {
    try {
        return { ok: true, r: fn(a, b, c) };
    } catch (e) {
        return { ok: false, e: (e instanceof Error) ? String(e.message) : String(e) };
    }
}))");

constexpr qsizetype kCompiledCacheSize = 256;

const QString kTimedOut = QStringLiteral("Processor execution timed out");
const QString kTooMuchMemory = QStringLiteral("Processor exceeded its memory limit");
const QString kTooLarge = QStringLiteral("Processor result too large");
const QString kUnsupported = QStringLiteral("Unsupported value type");

} // namespace

Sandbox::Sandbox(Watchdog &watchdog, ScriptLimits limits)
    : m_watchdog(watchdog)
    , m_limits(limits)
{
    createEngine();
}

Sandbox::~Sandbox() = default;

void Sandbox::createEngine()
{
    m_compiled.clear();
    m_trampoline = QJSValue();
    m_parse = QJSValue();
    m_stringify = QJSValue();
    m_engine = std::make_unique<QJSEngine>();
    ++m_enginesCreated;
    m_engine->evaluate(kFreeze);
    m_trampoline = m_engine->evaluate(kTrampoline);
    m_parse = m_engine->evaluate(QStringLiteral("JSON.parse"));
    m_stringify = m_engine->evaluate(QStringLiteral("JSON.stringify"));
}

Sandbox::Call Sandbox::call(const QString &source, const QJSValueList &args)
{
    Call result;
    auto found = m_compiled.constFind(source);
    QJSValue function;
    if (found != m_compiled.cend()) {
        function = *found;
    } else {
        function = m_engine->evaluate(source);
        if (function.isError() && !m_engine->isInterrupted()) {
            // The engine lacks object spread; a literal with one compiles once rewritten.
            if (const std::optional<QString> rewritten = SpreadRewriter::rewrite(source)) {
                const QJSValue retried = m_engine->evaluate(*rewritten);
                if (retried.isCallable())
                    function = retried;
            }
        }
        if (function.isError() || !function.isCallable()) {
            result.error = function.isError() ? function.toString()
                                              : QStringLiteral("SyntaxError: not a function body");
            return result;
        }
        if (m_compiled.size() >= kCompiledCacheSize)
            m_compiled.clear();
        m_compiled.insert(source, function);
    }
    QJSValueList callArgs { function };
    callArgs.append(args);
    const QJSValue outcome = m_trampoline.call(callArgs);
    if (outcome.isError()) {
        result.error = outcome.toString();
        return result;
    }
    result.ok = outcome.property(QStringLiteral("ok")).toBool();
    if (result.ok)
        result.returned = outcome.property(QStringLiteral("r"));
    else
        result.error = outcome.property(QStringLiteral("e")).toString();
    return result;
}

QJSValue Sandbox::toScript(const QCborValue &value)
{
    if (value.isUndefined())
        return QJSValue(QJSValue::UndefinedValue);
    return m_parse.call({ QJSValue(ScriptValues::toJson(value)) });
}

bool Sandbox::toPlain(const QJSValue &value, QCborValue *out, QString *error)
{
    if (value.isUndefined()) {
        *out = QCborValue(QCborValue::Undefined);
        return true;
    }
    const Call text
        = call(QStringLiteral("(function (v) { return JSON.stringify(v); })"), { value });
    if (!text.ok) {
        *error = text.error;
        return false;
    }
    if (text.returned.isUndefined()) {
        *out = QCborValue(QCborValue::Undefined);
        return true;
    }
    const QString json = text.returned.toString();
    if (json.size() > m_limits.maxResultChars) {
        *error = kTooLarge;
        return false;
    }
    *out = ScriptValues::fromJson(json);
    return true;
}

template <typename Run, typename Work> Run Sandbox::guarded(Work work)
{
    const quint64 ticket = m_watchdog.arm(m_engine.get(), m_limits.timeoutMs, m_limits.memoryBytes);
    Run run = work();
    const Watchdog::Verdict verdict = m_watchdog.disarm(ticket);
    if (verdict == Watchdog::Verdict::None && !m_engine->isInterrupted())
        return run;
    Run stopped;
    stopped.interrupted = true;
    stopped.error = verdict == Watchdog::Verdict::Memory ? kTooMuchMemory : kTimedOut;
    // Whatever the interrupted script built goes with its engine.
    createEngine();
    return stopped;
}

ProcessorRun Sandbox::runProcessor(
    const QString &code, const QCborValue &value, const QString &key, const QCborValue &args)
{
    if (!ScriptValues::isPlain(value) || !ScriptValues::isPlain(args)) {
        ProcessorRun run;
        run.error = kUnsupported;
        return run;
    }
    const QString source
        = QStringLiteral("(function (value, key, args) {\n") + code + QStringLiteral("\n})");
    return guarded<ProcessorRun>([&] {
        ProcessorRun run;
        const Call called = call(source, { toScript(value), QJSValue(key), toScript(args) });
        if (!called.ok) {
            run.error = called.error;
            return run;
        }
        const QJSValue &returned = called.returned;
        if (!returned.isObject() || returned.isArray() || returned.isCallable()
            || !returned.hasProperty(QStringLiteral("value"))) {
            run.error = QStringLiteral("Processor must return { value, result? } object");
            return run;
        }
        QString error;
        if (!toPlain(returned.property(QStringLiteral("value")), &run.value, &error)
            || !toPlain(returned.property(QStringLiteral("result")), &run.result, &error)) {
            run = {};
            run.error = error;
        }
        return run;
    });
}

ResolverRun Sandbox::runResolver(const QString &code, const QCborValue &context)
{
    if (!ScriptValues::isPlain(context)) {
        ResolverRun run;
        run.error = kUnsupported;
        return run;
    }
    const QString source
        = QStringLiteral("(function resolve(context) {\n") + code + QStringLiteral("\n})");
    return guarded<ResolverRun>([&] {
        ResolverRun run;
        const Call called = call(source, { toScript(context) });
        if (!called.ok) {
            run.error = called.error;
            return run;
        }
        const QJSValue &returned = called.returned;
        if (!returned.isObject() || !returned.property(QStringLiteral("action")).isString()) {
            run.error = QStringLiteral("Resolver must return { action, value?, reason? }");
            return run;
        }
        run.action = returned.property(QStringLiteral("action")).toString();
        const QJSValue reason = returned.property(QStringLiteral("reason"));
        if (!reason.isUndefined() && !reason.isNull())
            run.reason = reason.toString();
        QString error;
        if (!toPlain(returned.property(QStringLiteral("value")), &run.value, &error)) {
            run = {};
            run.error = error;
        }
        return run;
    });
}

} // namespace wingman::processors
