#include "SystemKeychain.h"

#include <qt6keychain/keychain.h>

namespace wingman::monitor {

namespace {

// QtKeychain's own strings can be as bare as "Unknown error"; the kind of failure goes first.
QString failureOf(const QKeychain::Job &job)
{
    QString kind;
    switch (job.error()) {
    case QKeychain::NoBackendAvailable:
        kind = QStringLiteral("no keychain service");
        break;
    case QKeychain::AccessDeniedByUser:
        kind = QStringLiteral("access refused by the user");
        break;
    case QKeychain::AccessDenied:
        kind = QStringLiteral("access denied");
        break;
    case QKeychain::NotImplemented:
        kind = QStringLiteral("not supported on this platform");
        break;
    case QKeychain::CouldNotDeleteEntry:
        kind = QStringLiteral("could not delete the entry");
        break;
    default:
        kind = QStringLiteral("keychain error");
        break;
    }
    return QStringLiteral("%1: %2").arg(kind, job.errorString());
}

Keychain::Reply replyOf(const QKeychain::Job &job, const QByteArray &data = {})
{
    switch (job.error()) {
    case QKeychain::NoError:
        return { Keychain::Outcome::Done, data, {} };
    case QKeychain::EntryNotFound:
        return { Keychain::Outcome::NotFound, {}, {} };
    default:
        return { Keychain::Outcome::Unavailable, {}, failureOf(job) };
    }
}

} // namespace

SystemKeychain::SystemKeychain(const QString &service, QObject *parent)
    : Keychain(parent)
    , m_service(service)
{ }

// Jobs have no parent and delete themselves once finished, so that none is destroyed while its
// backend call is still out. A job may outlive this keychain; its answer then goes nowhere.
void SystemKeychain::read(const QString &key, Callback done)
{
    auto *job = new QKeychain::ReadPasswordJob(m_service);
    job->setKey(key);
    connect(
        job, &QKeychain::Job::finished, this, [done = std::move(done)](QKeychain::Job *finished) {
            const auto *read = static_cast<QKeychain::ReadPasswordJob *>(finished);
            done(replyOf(*finished, read->textData().toUtf8()));
        });
    job->start();
}

void SystemKeychain::write(const QString &key, const QByteArray &data, Callback done)
{
    auto *job = new QKeychain::WritePasswordJob(m_service);
    job->setKey(key);
    // As text, so that the token reads as itself in the desktop's password manager.
    job->setTextData(QString::fromUtf8(data));
    connect(job, &QKeychain::Job::finished, this,
        [done = std::move(done)](QKeychain::Job *finished) { done(replyOf(*finished)); });
    job->start();
}

void SystemKeychain::remove(const QString &key, Callback done)
{
    auto *job = new QKeychain::DeletePasswordJob(m_service);
    job->setKey(key);
    connect(job, &QKeychain::Job::finished, this,
        [done = std::move(done)](QKeychain::Job *finished) { done(replyOf(*finished)); });
    job->start();
}

} // namespace wingman::monitor
