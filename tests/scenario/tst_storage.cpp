#include "StorageScenarios.h"

#include <QCryptographicHash>
#include <QFile>
#include <QTemporaryDir>

using namespace wingman;
using namespace wingman::test;
using namespace wingman::test::storage_scenarios;

namespace {

QByteArray fileHash(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha256);
}

// A file that is no SQLite database: the server must refuse it, not replace it.
void writeGarbage(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return;
    QByteArray junk;
    for (int i = 0; i < 32 * 1024; ++i)
        junk.append(char((i * 31) % 253));
    file.write(junk);
}

} // namespace

class tst_Storage : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;

    QString sqlite(const QString &file) const
    {
        return QStringLiteral("sqlite:") + m_dir.filePath(file);
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void restartKeepsLwwOrTombstonesAndTtl()
    {
        restartKeepsEverything(sqlite(QStringLiteral("restart/wingman.db")));
    }

    void nodeIdIsKeptWithTheData()
    {
        nodeIdIsKeptWithStorage(sqlite(QStringLiteral("node-id/wingman.db")));
    }

    void crashKeepsEveryAcknowledgedOp()
    {
        crashKeepsAcknowledgedOps(sqlite(QStringLiteral("crash/wingman.db")), crashSeed());
    }

    void defaultStorageIsSqliteInTheWorkingDirectory()
    {
        QTemporaryDir cwd;
        QVERIFY(cwd.isValid());
        ServerProcess first;
        first.start({}, cwd.path());
        QVERIFY2(first.waitForReady(), qPrintable(first.output()));
        QVERIFY(QFile::exists(cwd.filePath(QStringLiteral("wingman-data/wingman.db"))));
        QVERIFY2(first.terminate(), qPrintable(first.output()));

        ServerProcess second;
        second.start({}, cwd.path());
        QVERIFY2(second.waitForReady(), qPrintable(second.output()));
        QCOMPARE(second.nodeId(), first.nodeId()); // stable per data directory
        QVERIFY(second.terminate());
    }

    void corruptDatabaseIsAStartupError()
    {
        const QString path = m_dir.filePath(QStringLiteral("corrupt.db"));
        writeGarbage(path);
        const QByteArray before = fileHash(path);

        ServerConfig config = testConfig();
        config.storage = QStringLiteral("sqlite:") + path;
        const QString reason = startupFailure(config);
        QVERIFY2(reason.contains(path) && reason.contains(QStringLiteral("not a database")),
            qPrintable(reason));
        QCOMPARE(fileHash(path), before);

        ServerProcess process;
        process.start({ QStringLiteral("--storage"), config.storage });
        QVERIFY(process.waitForExit());
        QCOMPARE(process.process().exitStatus(), QProcess::NormalExit);
        QCOMPARE(process.process().exitCode(), 1);
        QVERIFY2(process.output().contains(reason), qPrintable(process.output()));
        QCOMPARE(fileHash(path), before);
    }

    void unwritableDirectoryIsAStartupError()
    {
        // Root ignores permission bits: there, a directory that refuses new files to everyone.
        QString directory = m_dir.filePath(QStringLiteral("read-only"));
        QVERIFY(QDir().mkpath(directory));
        QVERIFY(QFile::setPermissions(directory, QFile::ReadOwner | QFile::ExeOwner));
        QFile probe(QDir(directory).filePath(QStringLiteral("probe")));
        if (probe.open(QIODevice::WriteOnly)) {
            probe.remove();
            directory = QStringLiteral("/sys/kernel");
            QFile sysProbe(QDir(directory).filePath(QStringLiteral("wingman-probe")));
            if (!QFileInfo(directory).isDir() || sysProbe.open(QIODevice::WriteOnly))
                QSKIP("no directory here refuses new files to this user");
        }
        ServerConfig config = testConfig();
        config.storage = QStringLiteral("sqlite:") + QDir(directory).filePath("wingman.db");
        const QString reason = startupFailure(config);
        QVERIFY2(reason.contains(directory) && reason.contains(QStringLiteral("cannot write")),
            qPrintable(reason));
        QFile::setPermissions(m_dir.filePath(QStringLiteral("read-only")),
            QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
    }

    void badStorageOptionExitsTwo()
    {
        ServerProcess process;
        process.start({ QStringLiteral("--storage"),
            QStringLiteral("postgres://user:hunter2@localhost:5432") });
        QVERIFY(process.waitForExit());
        QCOMPARE(process.process().exitCode(), 2);
        const QString output = process.output();
        QVERIFY2(output.contains(QStringLiteral("storage")), qPrintable(output));
        QVERIFY2(!output.contains(QStringLiteral("hunter2")), qPrintable(output));
    }
};

QTEST_GUILESS_MAIN(tst_Storage)
#include "tst_storage.moc"
