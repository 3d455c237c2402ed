#pragma once

#include <QCborValue>
#include <QHash>
#include <QJSValue>
#include <QString>

#include <memory>

class QJSEngine;

namespace wingman::processors {

class Watchdog;

struct ScriptLimits {
    int timeoutMs = 100;
    qint64 memoryBytes = 64 * 1024 * 1024; // process growth during one call; 0: unchecked
    qsizetype maxResultChars = 1024 * 1024; // JSON text of a returned value or result
};

// What a processor's code returned: error set, or the new value and the result (undefined when
// absent).
struct ProcessorRun {
    QString error;
    bool interrupted = false; // stopped by the watchdog (time or memory)
    QCborValue value = QCborValue(QCborValue::Undefined);
    QCborValue result = QCborValue(QCborValue::Undefined);
};

// What a resolver's code returned: error set (a throw, a timeout, junk), or an action with its
// value or reason.
struct ResolverRun {
    QString error;
    bool interrupted = false; // stopped by the watchdog (time or memory)
    QString action;
    QCborValue value = QCborValue(QCborValue::Undefined);
    QString reason;
};

// One JavaScript engine, used by one thread. Scripts see only ECMAScript's built-ins: the engine
// has no host objects (no require, Qt, console, XMLHttpRequest, timers, files), and the global
// object and every built-in are frozen before any script runs, so nothing one call leaves behind
// is seen by the next. Each call runs under the Watchdog; an engine that was interrupted is
// replaced by a fresh one. Compiled functions are cached by their source text.
class Sandbox
{
public:
    Sandbox(Watchdog &watchdog, ScriptLimits limits);
    ~Sandbox();
    Sandbox(const Sandbox &) = delete;
    Sandbox &operator=(const Sandbox &) = delete;

    // code is the body of function (value, key, args) (docs/protocol.md "Entry processors").
    ProcessorRun runProcessor(
        const QString &code, const QCborValue &value, const QString &key, const QCborValue &args);
    // code is the body of function resolve(context) (docs/protocol.md "Conflict resolvers").
    ResolverRun runResolver(const QString &code, const QCborValue &context);

    quint64 enginesCreated() const { return m_enginesCreated; }

private:
    struct Call {
        bool ok = false;
        QJSValue returned;
        QString error;
    };

    void createEngine();
    // Compiles (or finds) source, calls it with args through the catching trampoline.
    Call call(const QString &source, const QJSValueList &args);
    QJSValue toScript(const QCborValue &value);
    // The returned value as plain data; false with *error when it cannot be said or is too large.
    bool toPlain(const QJSValue &value, QCborValue *out, QString *error);
    // Runs work under the watchdog; the error it reports, or the watchdog's.
    template <typename Run, typename Work> Run guarded(Work work);

    Watchdog &m_watchdog;
    ScriptLimits m_limits;
    std::unique_ptr<QJSEngine> m_engine;
    QJSValue m_trampoline;
    QJSValue m_parse;
    QJSValue m_stringify;
    QHash<QString, QJSValue> m_compiled;
    quint64 m_enginesCreated = 0;
};

} // namespace wingman::processors
