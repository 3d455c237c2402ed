#include "processors/EntryProcessorHandler.h"

#include "auth/SecurityPolicy.h"
#include "maps/MapRegistry.h"
#include "network/Session.h"
#include "ops/Committer.h"
#include "processors/BuiltInProcessors.h"
#include "processors/CodeCheck.h"
#include "processors/ScriptPool.h"
#include "processors/ScriptValues.h"

#include <memory>

namespace wingman::processors {

Q_LOGGING_CATEGORY(lcProcessors, "wingman.processors")

namespace {

// A script that keeps losing its key to client writes gives up rather than run for ever.
constexpr int kMaxAttempts = 8;
constexpr qsizetype kMaxNameChars = 100;
// Requests waiting in all key queues: beyond, a client flooding the node is refused.
constexpr qsizetype kMaxWaiting = 10000;
const QString kQueueFull = QStringLiteral("Entry processor queue is full; try again later");

protocol::EntryProcessResult failure(const QString &error)
{
    protocol::EntryProcessResult result;
    result.success = false;
    result.error = error;
    return result;
}

QString slotOf(const QString &mapName, const QString &key)
{
    return mapName + QChar(0) + key;
}

} // namespace

EntryProcessorHandler::EntryProcessorHandler(maps::MapRegistry &maps,
    const auth::SecurityPolicy &policy, ops::Committer &committer, ScriptPool &scripts,
    Options options, QObject *parent)
    : QObject(parent)
    , m_maps(maps)
    , m_policy(policy)
    , m_committer(committer)
    , m_scripts(scripts)
    , m_options(options)
{ }

std::optional<QString> EntryProcessorHandler::refusal(const network::Session &session,
    const QString &mapName, const QCborValue &processor, Processor *parsed) const
{
    if (!m_policy.isAllowed(session.principal(), mapName, auth::SecurityPolicy::Action::Put))
        return QStringLiteral("Access Denied for map %1").arg(mapName);
    if (!processor.isMap())
        return QStringLiteral("Invalid processor: must be an object {name, code, args?}");
    const QCborMap map = processor.toMap();
    const QCborValue name = map.value(QStringLiteral("name"));
    const QCborValue code = map.value(QStringLiteral("code"));
    if (!name.isString() || name.toString().isEmpty() || name.toString().size() > kMaxNameChars)
        return QStringLiteral("Invalid processor: name must be a string of 1-%1 characters")
            .arg(kMaxNameChars);
    if (!code.isString() || code.toString().isEmpty()
        || code.toString().size() > m_options.maxCodeChars)
        return QStringLiteral("Invalid processor: code must be a string of 1-%1 characters")
            .arg(m_options.maxCodeChars);
    if (const QString pattern = CodeCheck::forbiddenPattern(code.toString()); !pattern.isEmpty())
        return QStringLiteral("Forbidden pattern detected: %1").arg(pattern);
    if (mapName.isEmpty() || !m_maps.lwwMap(mapName))
        return QStringLiteral("Entry processors need an LWW map");
    parsed->name = name.toString();
    parsed->code = code.toString();
    parsed->args = map.value(QStringLiteral("args"));
    return std::nullopt;
}

void EntryProcessorHandler::handle(
    network::Session &session, const protocol::EntryProcessMessage &message)
{
    QPointer<network::Session> origin(&session);
    const QString requestId = message.requestId;
    const auto reply = [origin, requestId](const protocol::EntryProcessResult &result) {
        if (!origin)
            return;
        protocol::EntryProcessResponseMessage response;
        response.requestId = requestId;
        response.success = result.success;
        response.result = result.result;
        response.newValue = result.newValue;
        response.error = result.error;
        origin->send(response);
    };
    Job job;
    if (const auto refused = refusal(session, message.mapName, message.processor, &job.processor)) {
        reply(failure(*refused));
        return;
    }
    if (message.key.isEmpty()) {
        reply(failure(QStringLiteral("Invalid key: must not be empty")));
        return;
    }
    if (m_waiting >= kMaxWaiting) {
        reply(failure(kQueueFull));
        return;
    }
    job.mapName = message.mapName;
    job.key = message.key;
    job.done = reply;
    enqueue(std::move(job));
}

void EntryProcessorHandler::handle(
    network::Session &session, const protocol::EntryProcessBatchMessage &message)
{
    struct Batch {
        QPointer<network::Session> origin;
        protocol::EntryProcessBatchResponseMessage response;
        QStringList keys;
        qsizetype next = 0;
        Processor processor;
        QString mapName;
        std::function<void()> runNext;
    };
    auto batch = std::make_shared<Batch>();
    batch->origin = &session;
    batch->response.requestId = message.requestId;
    batch->keys = message.keys;
    batch->mapName = message.mapName;
    const std::optional<QString> refused
        = refusal(session, message.mapName, message.processor, &batch->processor);
    if (refused) {
        for (const QString &key : message.keys)
            batch->response.results.insert(key, failure(*refused).toCbor());
        session.send(batch->response);
        return;
    }
    // The keys run one after another; the last one's result sends the reply. Each next key
    // starts from the event loop, so a long batch of keys answered at once never recurses.
    std::weak_ptr<Batch> weak = batch;
    batch->runNext = [this, weak] {
        const std::shared_ptr<Batch> state = weak.lock();
        if (!state)
            return;
        while (state->next < state->keys.size()) {
            const QString key = state->keys.at(state->next++);
            if (key.isEmpty() || m_waiting >= kMaxWaiting) {
                state->response.results.insert(key,
                    failure(key.isEmpty() ? QStringLiteral("Invalid key: must not be empty")
                                          : kQueueFull)
                        .toCbor());
                continue;
            }
            Job job;
            job.mapName = state->mapName;
            job.key = key;
            job.processor = state->processor;
            job.done = [this, state, key](const protocol::EntryProcessResult &result) {
                state->response.results.insert(key, result.toCbor());
                QMetaObject::invokeMethod(
                    this,
                    [state] {
                        if (state->runNext)
                            state->runNext();
                    },
                    Qt::QueuedConnection);
            };
            enqueue(std::move(job));
            return;
        }
        if (state->origin)
            state->origin->send(state->response);
        state->runNext = nullptr;
    };
    batch->runNext();
}

void EntryProcessorHandler::enqueue(Job job)
{
    const QString slot = slotOf(job.mapName, job.key);
    m_queues[slot].jobs.push_back(std::move(job));
    ++m_waiting;
    start(slot);
}

void EntryProcessorHandler::start(const QString &slot)
{
    const auto it = m_queues.find(slot);
    if (it == m_queues.end() || it->running || it->jobs.empty())
        return;
    it->running = true;
    runFront(slot);
}

void EntryProcessorHandler::runFront(const QString &slot)
{
    const auto it = m_queues.find(slot);
    if (it == m_queues.end() || it->jobs.empty())
        return;
    const Job &job = it->jobs.front();
    crdt::LwwMap *map = m_maps.lwwMap(job.mapName);
    if (!map) {
        ProcessorRun refused;
        refused.error = QStringLiteral("Entry processors need an LWW map");
        finish(slot, std::nullopt, refused);
        return;
    }
    const std::optional<crdt::LwwRecord> before = map->getRecord(job.key);
    const QCborValue value = map->get(job.key).value_or(QCborValue(QCborValue::Undefined));
    if (!ScriptValues::isPlain(value) || !ScriptValues::isPlain(job.processor.args)) {
        ProcessorRun refused;
        refused.error = QStringLiteral("Unsupported value type");
        finish(slot, before, refused);
        return;
    }
    if (std::optional<ProcessorRun> native
        = BuiltInProcessors::run(job.processor.name, value, job.processor.args)) {
        finish(slot, before, *native);
        return;
    }
    m_scripts.submit(this,
        [this, slot, before, value, key = job.key, processor = job.processor](
            Sandbox &sandbox) -> std::function<void()> {
            ProcessorRun run = sandbox.runProcessor(processor.code, value, key, processor.args);
            return [this, slot, before, run = std::move(run)] { finish(slot, before, run); };
        });
}

void EntryProcessorHandler::finish(
    const QString &slot, const std::optional<crdt::LwwRecord> &before, const ProcessorRun &run)
{
    const auto it = m_queues.find(slot);
    if (it == m_queues.end() || it->jobs.empty())
        return;
    Job &job = it->jobs.front();
    crdt::LwwMap *map = m_maps.lwwMap(job.mapName);
    if (run.error.isEmpty() && map && map->getRecord(job.key) != before) {
        // A client op changed the key while the script ran: its answer is stale.
        if (++job.attempt < kMaxAttempts) {
            runFront(slot);
            return;
        }
    }
    Job finished = std::move(job);
    it->jobs.pop_front();
    it->running = false;
    --m_waiting;
    if (!run.error.isEmpty() || !map) {
        finished.done(failure(run.error));
        next(slot);
        return;
    }
    if (finished.attempt >= kMaxAttempts) {
        finished.done(failure(QStringLiteral("Processor gave up: the key kept changing")));
        next(slot);
        return;
    }

    protocol::EntryProcessResult result;
    result.success = true;
    result.result = run.result;
    result.newValue = run.value;
    const std::optional<QCborValue> current = map->get(finished.key);
    std::optional<crdt::LwwRecord> write;
    if (run.value.isUndefined()) {
        if (current)
            write = crdt::LwwRecord { QCborValue(QCborValue::Null), map->hlc().now(), {} };
    } else if (!current || !ScriptValues::deepEqual(*current, run.value)) {
        write = crdt::LwwRecord { run.value, map->hlc().now(), {} };
    }
    if (!write) {
        finished.done(result);
        next(slot);
        return;
    }
    bool wasLive = false;
    map->merge(finished.key, *write, &wasLive);
    const bool tombstone = write->isTombstone();
    ops::ChangeSet changes;
    changes.lwwPut(finished.mapName, finished.key, *write,
        tombstone ? protocol::ServerEventType::Remove : protocol::ServerEventType::Put,
        tombstone ? std::nullopt : std::optional<crdt::Value>(write->value), wasLive);
    ops::Committer::Steps steps;
    steps.acknowledge = [done = finished.done, result](const crdt::Timestamp &) { done(result); };
    steps.failed = [done = finished.done](const QString &) {
        done(failure(QStringLiteral("Storage failure; the change was not stored")));
    };
    m_committer.commit(std::move(changes), std::move(steps));
    next(slot);
}

void EntryProcessorHandler::next(const QString &slot)
{
    const auto it = m_queues.find(slot);
    if (it == m_queues.end() || it->running)
        return;
    if (it->jobs.empty()) {
        m_queues.erase(it);
        return;
    }
    // Queued rather than called: a run of built-ins on one key would otherwise recurse.
    QMetaObject::invokeMethod(
        this, [this, slot] { start(slot); }, Qt::QueuedConnection);
}

} // namespace wingman::processors
