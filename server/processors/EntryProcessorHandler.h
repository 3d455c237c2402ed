#pragma once

#include "crdt/LwwRecord.h"
#include "processors/Sandbox.h"
#include "protocol/ProcessorMessages.h"

#include <QHash>
#include <QLoggingCategory>
#include <QObject>
#include <QPointer>

#include <deque>
#include <functional>

namespace wingman::auth {
class SecurityPolicy;
}
namespace wingman::maps {
class MapRegistry;
}
namespace wingman::network {
class Session;
}
namespace wingman::ops {
class Committer;
}

namespace wingman::processors {

Q_DECLARE_LOGGING_CATEGORY(lcProcessors)

class ScriptPool;

// ENTRY_PROCESS and ENTRY_PROCESS_BATCH (docs/protocol.md "Entry processors"). Each request is
// checked (PUT on the map, the processor's shape, forbidden patterns, an LWW map), then queued
// per key: one processor at a time runs on a key. Built-ins run natively on the event loop;
// other code runs on the ScriptPool's workers, so the event loop stays free. The read-modify-write
// is still atomic: when the key's record changed while the script ran (a client op merged
// meanwhile), the script runs again on the new value before anything is written. A changed value
// is an ordinary server write (fresh HLC timestamp) through the Committer: stored, replicated,
// published to every subscriber, the requester included; the reply goes once it is durable.
class EntryProcessorHandler : public QObject
{
    Q_OBJECT
public:
    struct Options {
        qsizetype maxCodeChars = 10000;
    };

    EntryProcessorHandler(maps::MapRegistry &maps, const auth::SecurityPolicy &policy,
        ops::Committer &committer, ScriptPool &scripts, Options options, QObject *parent = nullptr);

    void handle(network::Session &session, const protocol::EntryProcessMessage &message);
    void handle(network::Session &session, const protocol::EntryProcessBatchMessage &message);

private:
    struct Processor {
        QString name;
        QString code;
        QCborValue args = QCborValue(QCborValue::Undefined);
    };
    struct Job {
        QString mapName;
        QString key;
        Processor processor;
        int attempt = 0;
        std::function<void(protocol::EntryProcessResult)> done;
    };

    // The refusal every key of a request gets, if any.
    std::optional<QString> refusal(const network::Session &session, const QString &mapName,
        const QCborValue &processor, Processor *parsed) const;
    void enqueue(Job job);
    // Runs the slot's front job unless one is running already.
    void start(const QString &slot);
    void runFront(const QString &slot);
    void finish(
        const QString &slot, const std::optional<crdt::LwwRecord> &before, const ProcessorRun &run);
    void next(const QString &slot);

    maps::MapRegistry &m_maps;
    const auth::SecurityPolicy &m_policy;
    ops::Committer &m_committer;
    ScriptPool &m_scripts;
    Options m_options;
    struct KeyQueue {
        std::deque<Job> jobs;
        bool running = false; // the front job is running
    };
    QHash<QString, KeyQueue> m_queues; // by map and key
    qsizetype m_waiting = 0; // jobs in every queue
};

} // namespace wingman::processors
