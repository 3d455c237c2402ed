#include "ConnectDialog.h"
#include "Keychain.h"
#include "SystemKeychain.h"
#include "TokenStore.h"

#include <QCoreApplication>
#include <QDirIterator>
#include <QFile>
#include <QHash>
#include <QLabel>
#include <QLineEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

using namespace wingman::monitor;

namespace {

constexpr int kWaitMs = 5000;
const QString kHost = QStringLiteral("10.0.0.7");
constexpr quint16 kPort = 9191;
// Never the real service: a developer's own keychain must not be touched by a test.
const QString kTestService = QStringLiteral("wingman-monitor-test");

// The keychain as a map; it answers from the event loop, like QtKeychain.
class MemoryKeychain : public Keychain
{
public:
    QHash<QString, QByteArray> entries;
    bool available = true;

    void read(const QString &key, Callback done) override
    {
        if (!available)
            return answer(std::move(done), unavailableReply());
        const auto found = entries.constFind(key);
        answer(std::move(done),
            found == entries.cend() ? Reply { Outcome::NotFound, {}, {} }
                                    : Reply { Outcome::Done, *found, {} });
    }

    void write(const QString &key, const QByteArray &data, Callback done) override
    {
        if (!available)
            return answer(std::move(done), unavailableReply());
        entries.insert(key, data);
        answer(std::move(done), { Outcome::Done, {}, {} });
    }

    void remove(const QString &key, Callback done) override
    {
        if (!available)
            return answer(std::move(done), unavailableReply());
        answer(
            std::move(done), { entries.remove(key) ? Outcome::Done : Outcome::NotFound, {}, {} });
    }

private:
    static Reply unavailableReply()
    {
        return { Outcome::Unavailable, {}, QStringLiteral("no keychain in this test") };
    }

    void answer(Callback done, const Reply &reply)
    {
        QMetaObject::invokeMethod(
            this, [done = std::move(done), reply] { done(reply); }, Qt::QueuedConnection);
    }
};

struct MemoryTokens {
    MemoryKeychain *keychain;
    std::unique_ptr<TokenStore> store;
};

MemoryTokens memoryTokens()
{
    auto keychain = std::make_unique<MemoryKeychain>();
    MemoryKeychain *raw = keychain.get();
    return { raw, std::make_unique<TokenStore>(std::move(keychain)) };
}

std::unique_ptr<TokenStore> systemTokens()
{
    return std::make_unique<TokenStore>(std::make_unique<SystemKeychain>(kTestService));
}

QLineEdit *tokenEdit(ConnectDialog &dialog)
{
    return dialog.findChild<QLineEdit *>(QStringLiteral("token"));
}

bool hintShown(ConnectDialog &dialog)
{
    return dialog.keychainHint()->isVisibleTo(&dialog);
}

void rememberNode(const QString &host, quint16 port)
{
    QSettings settings;
    settings.setValue(QStringLiteral("connect/host"), host);
    settings.setValue(QStringLiteral("connect/port"), int(port));
}

} // namespace

class tst_MonitorKeychain : public QObject
{
    Q_OBJECT
public:
    // Before QApplication, which may open the session bus: with the bus address pointing
    // nowhere, QtKeychain finds no backend, on CI and on a desktop alike.
    static void initMain()
    {
        qputenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/wingman-test-session-bus");
        QStandardPaths::setTestModeEnabled(true);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_settingsDir.isValid());
        QCoreApplication::setOrganizationName(QStringLiteral("WingmanTest"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_monitor_keychain"));
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_settingsDir.path());
        QVERIFY2(QSettings().fileName().startsWith(m_settingsDir.path()),
            qPrintable(QSettings().fileName()));
    }

    void init()
    {
        QSettings settings;
        settings.clear();
        settings.sync();
    }

    void keyIsHostAndPort()
    {
        QCOMPARE(TokenStore::key(kHost, kPort), QStringLiteral("10.0.0.7:9191"));
        QCOMPARE(TokenStore::defaultService(), QStringLiteral("wingman-monitor"));
    }

    void tokenRoundTripsThroughKeychain()
    {
        auto [keychain, tokens] = memoryTokens();
        QSignalSpy stored(tokens.get(), &TokenStore::stored);
        QSignalSpy loaded(tokens.get(), &TokenStore::loaded);
        QSignalSpy unavailable(tokens.get(), &TokenStore::unavailable);

        tokens->store(kHost, kPort, "jwt-one");
        QVERIFY(stored.wait(kWaitMs));
        QCOMPARE(keychain->entries.value(QStringLiteral("10.0.0.7:9191")), QByteArray("jwt-one"));

        tokens->load(kHost, kPort);
        QVERIFY(loaded.wait(kWaitMs));
        QCOMPARE(loaded.at(0).at(0).toString(), kHost);
        QCOMPARE(loaded.at(0).at(1).value<quint16>(), kPort);
        QCOMPARE(loaded.at(0).at(2).toByteArray(), QByteArray("jwt-one"));
        QCOMPARE(unavailable.count(), 0);
        verifyNothingSecretOnDisk("jwt-one");
    }

    void tokensAreKeptPerNode()
    {
        auto [keychain, tokens] = memoryTokens();
        keychain->entries.insert(TokenStore::key(kHost, kPort), "jwt-one");
        QSignalSpy loaded(tokens.get(), &TokenStore::loaded);

        tokens->load(kHost, kPort + 1);
        QVERIFY(loaded.wait(kWaitMs));
        QCOMPARE(loaded.at(0).at(1).value<quint16>(), quint16(kPort + 1));
        QVERIFY(loaded.at(0).at(2).toByteArray().isEmpty());
    }

    void forgottenTokenIsGone()
    {
        auto [keychain, tokens] = memoryTokens();
        keychain->entries.insert(TokenStore::key(kHost, kPort), "jwt-one");
        QSignalSpy forgotten(tokens.get(), &TokenStore::forgotten);
        QSignalSpy loaded(tokens.get(), &TokenStore::loaded);

        tokens->forget(kHost, kPort);
        QVERIFY(forgotten.wait(kWaitMs));
        QVERIFY(keychain->entries.isEmpty());
        tokens->load(kHost, kPort);
        QVERIFY(loaded.wait(kWaitMs));
        QVERIFY(loaded.at(0).at(2).toByteArray().isEmpty());
    }

    void noSystemKeychainKeepsNothing()
    {
        const auto tokens = systemTokens();
        QSignalSpy unavailable(tokens.get(), &TokenStore::unavailable);
        QSignalSpy stored(tokens.get(), &TokenStore::stored);
        QSignalSpy loaded(tokens.get(), &TokenStore::loaded);
        QSignalSpy forgotten(tokens.get(), &TokenStore::forgotten);

        tokens->store(kHost, kPort, "jwt-unkept");
        QVERIFY(unavailable.wait(kWaitMs));
        tokens->load(kHost, kPort);
        QTRY_COMPARE_WITH_TIMEOUT(unavailable.count(), 2, kWaitMs);
        tokens->forget(kHost, kPort);
        QTRY_COMPARE_WITH_TIMEOUT(unavailable.count(), 3, kWaitMs);

        QCOMPARE(stored.count(), 0);
        QCOMPARE(loaded.count(), 0);
        QCOMPARE(forgotten.count(), 0);
        for (const QList<QVariant> &call : std::as_const(unavailable)) {
            QCOMPARE(call.at(0).toString(), kHost);
            QCOMPARE(call.at(1).value<quint16>(), kPort);
            QVERIFY(!call.at(2).toString().isEmpty());
        }
        verifyNothingSecretOnDisk("jwt-unkept");
    }

    void dialogPrefillsRememberedToken()
    {
        rememberNode(kHost, kPort);
        auto [keychain, tokens] = memoryTokens();
        keychain->entries.insert(TokenStore::key(kHost, kPort), "jwt-remembered");

        ConnectDialog dialog(tokens.get());
        QCOMPARE(dialog.host(), kHost);
        QCOMPARE(dialog.port(), kPort);
        QTRY_COMPARE_WITH_TIMEOUT(dialog.token(), QByteArray("jwt-remembered"), kWaitMs);
        QVERIFY(!hintShown(dialog));
    }

    void dialogStoresTokenInKeychainOnly()
    {
        rememberNode(kHost, kPort);
        auto [keychain, tokens] = memoryTokens();
        keychain->entries.insert(TokenStore::key(kHost, kPort), "jwt-old");
        QSignalSpy stored(tokens.get(), &TokenStore::stored);

        ConnectDialog dialog(tokens.get());
        QTRY_COMPARE_WITH_TIMEOUT(dialog.token(), QByteArray("jwt-old"), kWaitMs);
        tokenEdit(dialog)->clear();
        QTest::keyClicks(tokenEdit(dialog), QStringLiteral("jwt-new"));
        dialog.findChild<QSpinBox *>(QStringLiteral("port"))->setValue(kPort + 1);
        dialog.accept();

        QVERIFY(stored.wait(kWaitMs));
        QCOMPARE(keychain->entries.value(TokenStore::key(kHost, kPort + 1)), QByteArray("jwt-new"));
        QSettings settings;
        QCOMPARE(settings.value(QStringLiteral("connect/host")).toString(), kHost);
        QCOMPARE(settings.value(QStringLiteral("connect/port")).toInt(), kPort + 1);
        verifyNothingSecretOnDisk("jwt-new");
        verifyNothingSecretOnDisk("jwt-old");
    }

    void dialogLoadsTokenOfChosenNode()
    {
        rememberNode(kHost, kPort);
        auto [keychain, tokens] = memoryTokens();
        keychain->entries.insert(TokenStore::key(kHost, kPort), "jwt-a");
        keychain->entries.insert(TokenStore::key(kHost, kPort + 1), "jwt-b");

        ConnectDialog dialog(tokens.get());
        QTRY_COMPARE_WITH_TIMEOUT(dialog.token(), QByteArray("jwt-a"), kWaitMs);
        dialog.findChild<QSpinBox *>(QStringLiteral("port"))->setValue(kPort + 1);
        QTRY_COMPARE_WITH_TIMEOUT(dialog.token(), QByteArray("jwt-b"), kWaitMs);
    }

    void typedTokenWinsOverRemembered()
    {
        rememberNode(kHost, kPort);
        auto [keychain, tokens] = memoryTokens();
        keychain->entries.insert(TokenStore::key(kHost, kPort), "jwt-remembered");
        QSignalSpy loaded(tokens.get(), &TokenStore::loaded);

        ConnectDialog dialog(tokens.get());
        QTest::keyClicks(tokenEdit(dialog), QStringLiteral("jwt-typed"));
        QVERIFY(loaded.wait(kWaitMs));
        QCOMPARE(dialog.token(), QByteArray("jwt-typed"));
    }

    void clearedTokenIsForgotten()
    {
        rememberNode(kHost, kPort);
        auto [keychain, tokens] = memoryTokens();
        keychain->entries.insert(TokenStore::key(kHost, kPort), "jwt-remembered");
        QSignalSpy forgotten(tokens.get(), &TokenStore::forgotten);

        ConnectDialog dialog(tokens.get());
        QTRY_COMPARE_WITH_TIMEOUT(dialog.token(), QByteArray("jwt-remembered"), kWaitMs);
        tokenEdit(dialog)->clear();
        dialog.accept();
        QVERIFY(forgotten.wait(kWaitMs));
        QVERIFY(keychain->entries.isEmpty());
    }

    void dialogWithoutKeychainShowsHintAndAsksEachTime()
    {
        rememberNode(kHost, kPort);
        const auto tokens = systemTokens();
        QSignalSpy unavailable(tokens.get(), &TokenStore::unavailable);
        {
            ConnectDialog dialog(tokens.get());
            QVERIFY(!hintShown(dialog));
            QTRY_VERIFY_WITH_TIMEOUT(hintShown(dialog), kWaitMs);
            QVERIFY(dialog.keychainHint()->text().contains(QStringLiteral("no system keychain")));
            QVERIFY(dialog.token().isEmpty());
            QTest::keyClicks(tokenEdit(dialog), QStringLiteral("jwt-typed"));
            const int before = unavailable.count();
            dialog.accept();
            QTRY_COMPARE_WITH_TIMEOUT(unavailable.count(), before + 1, kWaitMs);
        }
        verifyNothingSecretOnDisk("jwt-typed");

        ConnectDialog again(tokens.get());
        QCOMPARE(again.host(), kHost);
        QTRY_VERIFY_WITH_TIMEOUT(hintShown(again), kWaitMs);
        QVERIFY(again.token().isEmpty());
    }

    void hintFollowsTheKeychain()
    {
        rememberNode(kHost, kPort);
        auto [keychain, tokens] = memoryTokens();
        keychain->available = false;
        QSignalSpy loaded(tokens.get(), &TokenStore::loaded);

        ConnectDialog dialog(tokens.get());
        QTRY_VERIFY_WITH_TIMEOUT(hintShown(dialog), kWaitMs);
        QCOMPARE(dialog.keychainHint()->toolTip(), QStringLiteral("no keychain in this test"));
        keychain->available = true;
        dialog.findChild<QSpinBox *>(QStringLiteral("port"))->setValue(kPort + 1);
        QVERIFY(loaded.wait(kWaitMs));
        QVERIFY(!hintShown(dialog));
    }

    void legacyTokenLeavesSettings_data()
    {
        QTest::addColumn<bool>("keychain");
        QTest::newRow("keychain") << true;
        QTest::newRow("no keychain") << false;
    }

    void legacyTokenLeavesSettings()
    {
        QFETCH(bool, keychain);
        rememberNode(kHost, kPort);
        {
            QSettings settings;
            settings.setValue(QStringLiteral("connect/token"), QStringLiteral("jwt-legacy"));
        }
        auto memory = memoryTokens();
        memory.keychain->available = keychain;
        QSignalSpy stored(memory.store.get(), &TokenStore::stored);
        QSignalSpy unavailable(memory.store.get(), &TokenStore::unavailable);

        ConnectDialog dialog(memory.store.get());
        QVERIFY(!QSettings().contains(QStringLiteral("connect/token")));
        verifyNothingSecretOnDisk("jwt-legacy");
        // Offered for this once, so that it can move to the keychain.
        QCOMPARE(dialog.token(), QByteArray("jwt-legacy"));
        dialog.accept();
        if (keychain) {
            QVERIFY(stored.wait(kWaitMs));
            QCOMPARE(memory.keychain->entries.value(TokenStore::key(kHost, kPort)),
                QByteArray("jwt-legacy"));
        } else {
            QTRY_VERIFY_WITH_TIMEOUT(unavailable.count() >= 2, kWaitMs);
            QVERIFY(memory.keychain->entries.isEmpty());
        }
        verifyNothingSecretOnDisk("jwt-legacy");
    }

private:
    // No key that names a token and no value that holds the secret, in the monitor's settings
    // or in any other file under the settings directory.
    void verifyNothingSecretOnDisk(const QByteArray &secret)
    {
        QSettings settings;
        settings.sync();
        QCOMPARE(settings.status(), QSettings::NoError);
        const QStringList keys = settings.allKeys();
        for (const QString &key : keys) {
            QVERIFY2(!key.contains(QStringLiteral("token"), Qt::CaseInsensitive), qPrintable(key));
            QVERIFY2(!settings.value(key).toString().toUtf8().contains(secret), qPrintable(key));
        }
        QDirIterator files(
            m_settingsDir.path(), QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
        while (files.hasNext()) {
            QFile file(files.next());
            QVERIFY2(file.open(QIODevice::ReadOnly), qPrintable(file.fileName()));
            QVERIFY2(!file.readAll().contains(secret), qPrintable(file.fileName()));
        }
    }

    QTemporaryDir m_settingsDir;
};

QTEST_MAIN(tst_MonitorKeychain)
#include "tst_monitor_keychain.moc"
