#include "auth/SecurityPolicy.h"

#include <QFile>
#include <QSettings>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <tuple>

using namespace wingman::auth;

using Action = SecurityPolicy::Action;
using Actions = SecurityPolicy::Actions;

namespace {

QString writeIni(const QTemporaryDir &dir, const QByteArray &content)
{
    const QString path = dir.filePath(QStringLiteral("policy.ini"));
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return {};
    file.write(content);
    return path;
}

// Rules read from QSettings come in key order; compare them regardless of order.
QList<SecurityPolicy::Rule> sorted(QList<SecurityPolicy::Rule> rules)
{
    std::sort(rules.begin(), rules.end(), [](const auto &a, const auto &b) {
        return std::tie(a.role, a.pattern) < std::tie(b.role, b.pattern);
    });
    return rules;
}

SecurityPolicy configuredPolicy()
{
    return SecurityPolicy(
        { { "USER", "*", Action::Read }, { "USER", "notes.*", Action::Read | Action::Put },
            { "USER", "users.{userId}", SecurityPolicy::kAllActions },
            { "GUEST", "public.*", Action::Read }, { "AUDITOR", "audit", Action::Remove } });
}

} // namespace

Q_DECLARE_METATYPE(SecurityPolicy::Action)
Q_DECLARE_METATYPE(SecurityPolicy::Actions)
Q_DECLARE_METATYPE(SecurityPolicy::Rule)

class tst_SecurityPolicy : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void matchesPattern_data()
    {
        QTest::addColumn<QString>("pattern");
        QTest::addColumn<QString>("mapName");
        QTest::addColumn<QString>("userId");
        QTest::addColumn<bool>("matches");

        QTest::newRow("star matches anything") << "*"
                                               << "anything.at.all"
                                               << "" << true;
        QTest::newRow("star matches empty") << "*"
                                            << ""
                                            << "" << true;
        QTest::newRow("exact") << "notes"
                               << "notes"
                               << "" << true;
        QTest::newRow("exact, longer name") << "notes"
                                            << "notes2"
                                            << "" << false;
        QTest::newRow("exact is case-sensitive") << "Notes"
                                                 << "notes"
                                                 << "" << false;
        QTest::newRow("prefix") << "users.*"
                                << "users.42"
                                << "" << true;
        QTest::newRow("prefix, nested") << "users.*"
                                        << "users.42.profile"
                                        << "" << true;
        QTest::newRow("prefix, empty rest") << "users.*"
                                            << "users."
                                            << "" << true;
        QTest::newRow("prefix without the dot") << "users.*"
                                                << "users"
                                                << "" << false;
        QTest::newRow("prefix, other map") << "users.*"
                                           << "xusers.1"
                                           << "" << false;
        QTest::newRow("suffix") << "*.log"
                                << "app.log"
                                << "" << true;
        QTest::newRow("suffix, other") << "*.log"
                                       << "app.logs"
                                       << "" << false;
        QTest::newRow("middle star") << "a*b"
                                     << "ab"
                                     << "" << true;
        QTest::newRow("middle star, run") << "a*b"
                                          << "a-x-b"
                                          << "" << true;
        QTest::newRow("middle star, trailing text") << "a*b"
                                                    << "abx"
                                                    << "" << false;
        QTest::newRow("two stars in order") << "a*b*c"
                                            << "aXbYc"
                                            << "" << true;
        QTest::newRow("two stars, wrong order") << "a*b*c"
                                                << "acb"
                                                << "" << false;
        QTest::newRow("pieces must not overlap") << "ab*ba"
                                                 << "aba"
                                                 << "" << false;
        QTest::newRow("user id") << "users.{userId}"
                                 << "users.u-1"
                                 << "u-1" << true;
        QTest::newRow("other user's map") << "users.{userId}"
                                          << "users.u-2"
                                          << "u-1" << false;
        QTest::newRow("user id with star") << "notes-{userId}-*"
                                           << "notes-u-1-todo"
                                           << "u-1" << true;
        QTest::newRow("no user id") << "users.{userId}"
                                    << "users."
                                    << "" << false;
        QTest::newRow("star in a user id is literal") << "users.{userId}"
                                                      << "users.anyone"
                                                      << "*" << false;
        QTest::newRow("star in a user id, same text") << "users.{userId}"
                                                      << "users.*"
                                                      << "*" << true;
    }

    void matchesPattern()
    {
        QFETCH(QString, pattern);
        QFETCH(QString, mapName);
        QFETCH(QString, userId);
        QFETCH(bool, matches);
        QCOMPARE(SecurityPolicy::matchesPattern(pattern, mapName, userId), matches);
    }

    void defaultPolicy_data()
    {
        QTest::addColumn<QStringList>("roles");
        QTest::addColumn<bool>("allowed");

        QTest::newRow("USER") << QStringList { "USER" } << true;
        QTest::newRow("ADMIN") << QStringList { "ADMIN" } << true;
        QTest::newRow("USER and more") << QStringList { "EDITOR", "USER" } << true;
        QTest::newRow("GUEST") << QStringList { "GUEST" } << false;
        QTest::newRow("no roles") << QStringList() << false;
        QTest::newRow("role names are case-sensitive") << QStringList { "user" } << false;
    }

    void defaultPolicy()
    {
        QFETCH(QStringList, roles);
        QFETCH(bool, allowed);
        const SecurityPolicy policy;
        const Principal principal { "u-1", roles };
        for (const Action action : { Action::Read, Action::Put, Action::Remove }) {
            for (const QString &map : { QStringLiteral("notes"), QStringLiteral("users.u-2") }) {
                QVERIFY2(policy.isAllowed(principal, map, action) == allowed,
                    qPrintable(SecurityPolicy::actionName(action) + ' ' + map));
            }
        }
    }

    void isAllowed_data()
    {
        QTest::addColumn<QStringList>("roles");
        QTest::addColumn<QString>("userId");
        QTest::addColumn<QString>("mapName");
        QTest::addColumn<Action>("action");
        QTest::addColumn<bool>("allowed");

        const QStringList user { "USER" };
        QTest::newRow("user reads anything") << user << "u-1"
                                             << "todos" << Action::Read << true;
        QTest::newRow("user may not put elsewhere") << user << "u-1"
                                                    << "todos" << Action::Put << false;
        QTest::newRow("user puts notes") << user << "u-1"
                                         << "notes.a" << Action::Put << true;
        QTest::newRow("user may not remove notes") << user << "u-1"
                                                   << "notes.a" << Action::Remove << false;
        QTest::newRow("user removes in own map") << user << "u-1"
                                                 << "users.u-1" << Action::Remove << true;
        QTest::newRow("user may not remove in another's map")
            << user << "u-1"
            << "users.u-2" << Action::Remove << false;
        QTest::newRow("guest reads public") << QStringList { "GUEST" } << "g"
                                            << "public.news" << Action::Read << true;
        QTest::newRow("guest may not read private") << QStringList { "GUEST" } << "g"
                                                    << "todos" << Action::Read << false;
        QTest::newRow("guest may not put public") << QStringList { "GUEST" } << "g"
                                                  << "public.news" << Action::Put << false;
        QTest::newRow("remove-only rule") << QStringList { "AUDITOR" } << "a"
                                          << "audit" << Action::Remove << true;
        QTest::newRow("remove-only rule, read") << QStringList { "AUDITOR" } << "a"
                                                << "audit" << Action::Read << false;
        QTest::newRow("roles combine") << QStringList { "GUEST", "AUDITOR" } << "a"
                                       << "audit" << Action::Remove << true;
        QTest::newRow("admin does everything without a rule")
            << QStringList { "ADMIN" } << "root"
            << "users.u-2" << Action::Remove << true;
        QTest::newRow("unknown role") << QStringList { "NOBODY" } << "n"
                                      << "public.news" << Action::Read << false;
        QTest::newRow("no roles") << QStringList() << "n"
                                  << "public.news" << Action::Read << false;
    }

    void isAllowed()
    {
        QFETCH(QStringList, roles);
        QFETCH(QString, userId);
        QFETCH(QString, mapName);
        QFETCH(Action, action);
        QFETCH(bool, allowed);
        QCOMPARE(
            configuredPolicy().isAllowed(Principal { userId, roles }, mapName, action), allowed);
    }

    void parseRule_data()
    {
        QTest::addColumn<QString>("key");
        QTest::addColumn<QStringList>("actions");
        QTest::addColumn<QString>("role"); // expected; empty when the rule is invalid
        QTest::addColumn<QString>("pattern"); // expected
        QTest::addColumn<Actions>("expectedActions");
        QTest::addColumn<QString>("error");

        const Actions none;
        QTest::newRow("one action") << "USER/secret.*" << QStringList { "READ" } << "USER"
                                    << "secret.*" << Actions(Action::Read) << QString();
        QTest::newRow("several, any case, spaces")
            << "USER/notes" << QStringList { "read", " Put " } << "USER"
            << "notes" << (Action::Read | Action::Put) << QString();
        QTest::newRow("ALL") << "ADMIN/*" << QStringList { "ALL" } << "ADMIN"
                             << "*" << SecurityPolicy::kAllActions << QString();
        QTest::newRow("pattern with a slash") << "USER/$sys/*" << QStringList { "REMOVE" } << "USER"
                                              << "$sys/*" << Actions(Action::Remove) << QString();
        QTest::newRow("unknown action")
            << "USER/secret.*" << QStringList { "READ", "WRITE" } << ""
            << "" << none
            << "policy 'USER/secret.*': unknown action 'WRITE' (expected READ, PUT, REMOVE or ALL)";
        QTest::newRow("no actions") << "USER/secret.*" << QStringList() << ""
                                    << "" << none
                                    << "policy 'USER/secret.*': no actions (expected READ, "
                                       "PUT, REMOVE or ALL)";
        QTest::newRow("blank action") << "USER/secret.*" << QStringList { " " } << ""
                                      << "" << none
                                      << "policy 'USER/secret.*': no actions (expected READ, "
                                         "PUT, REMOVE or ALL)";
        QTest::newRow("no pattern") << "USER" << QStringList { "READ" } << ""
                                    << "" << none
                                    << "policy 'USER': expected ROLE/MAP_PATTERN=ACTIONS, e.g. "
                                       "USER/notes.*=READ";
        QTest::newRow("empty pattern") << "USER/" << QStringList { "READ" } << ""
                                       << "" << none << "policy 'USER/': empty map pattern";
        QTest::newRow("empty role") << "/notes" << QStringList { "READ" } << ""
                                    << "" << none << "policy '/notes': empty role";
    }

    void parseRule()
    {
        QFETCH(QString, key);
        QFETCH(QStringList, actions);
        QFETCH(QString, role);
        QFETCH(QString, pattern);
        QFETCH(Actions, expectedActions);
        QFETCH(QString, error);

        QString actualError;
        const auto rule = SecurityPolicy::parseRule(key, actions, &actualError);
        QCOMPARE(actualError, error);
        QCOMPARE(rule.has_value(), error.isEmpty());
        if (rule) {
            QCOMPARE(rule->role, role);
            QCOMPARE(rule->pattern, pattern);
            QCOMPARE(rule->actions, expectedActions);
        }
    }

    void fromSettings_data()
    {
        QTest::addColumn<QByteArray>("ini");
        QTest::addColumn<QList<SecurityPolicy::Rule>>("rules"); // expected when error is empty
        QTest::addColumn<QString>("error");

        const QList<SecurityPolicy::Rule> defaults = SecurityPolicy().rules();
        QTest::newRow("no group") << QByteArray("[server]\nport=1\n") << defaults << QString();
        QTest::newRow("empty group") << QByteArray("[policies]\n") << defaults << QString();
        QTest::newRow("rules") << QByteArray(
            "port=1\n[server]\nhost=x\n[policies]\nUSER/secret.*=READ\n"
            "USER/*=READ,PUT\nGUEST/public.*=read, put ,remove\n"
            "USER/users.{userId}=ALL\n")
                               << QList<SecurityPolicy::Rule> { { "USER", "secret.*",
                                                                    Action::Read },
                                      { "USER", "*", Action::Read | Action::Put },
                                      { "GUEST", "public.*", SecurityPolicy::kAllActions },
                                      { "USER", "users.{userId}", SecurityPolicy::kAllActions } }
                               << QString();
        QTest::newRow("unknown action")
            << QByteArray("[policies]\nUSER/notes=READ\nUSER/secret.*=WRITE\n")
            << QList<SecurityPolicy::Rule>()
            << "policy 'USER/secret.*': unknown action 'WRITE' (expected READ, PUT, REMOVE or "
               "ALL)";
        QTest::newRow("empty pattern")
            << QByteArray("[policies]\nUSER/=READ\n") << QList<SecurityPolicy::Rule>()
            << "policy 'USER/': empty map pattern";
        QTest::newRow("empty role")
            << QByteArray("[policies]\n/notes=READ\n") << QList<SecurityPolicy::Rule>()
            << "policy '/notes': empty role";
        QTest::newRow("no slash") << QByteArray("[policies]\nUSER=READ\n")
                                  << QList<SecurityPolicy::Rule>()
                                  << "policy 'USER': expected ROLE/MAP_PATTERN=ACTIONS, e.g. "
                                     "USER/notes.*=READ";
        QTest::newRow("empty value")
            << QByteArray("[policies]\nUSER/notes=\n") << QList<SecurityPolicy::Rule>()
            << "policy 'USER/notes': no actions (expected READ, PUT, "
               "REMOVE or ALL)";
    }

    void fromSettings()
    {
        QFETCH(QByteArray, ini);
        QFETCH(QList<SecurityPolicy::Rule>, rules);
        QFETCH(QString, error);

        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = writeIni(dir, ini);
        QVERIFY(!path.isEmpty());

        QString actualError;
        QSettings settings(path, QSettings::IniFormat);
        const auto policy = SecurityPolicy::fromSettings(settings, &actualError);
        QCOMPARE(actualError, error);
        QCOMPARE(policy.has_value(), error.isEmpty());
        if (policy)
            QCOMPARE(sorted(policy->rules()), sorted(rules));
        QVERIFY(settings.group().isEmpty()); // the group is left as it was found

        const auto fromFile = SecurityPolicy::fromIniFile(path, &actualError);
        QCOMPARE(fromFile.has_value(), error.isEmpty());
        if (fromFile)
            QCOMPARE(sorted(fromFile->rules()), sorted(rules));
    }

    void rulesFromFileAreEnforced()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = writeIni(dir, "[policies]\nUSER/secret.*=READ\n");
        QString error;
        const auto policy = SecurityPolicy::fromIniFile(path, &error);
        QVERIFY2(policy, qPrintable(error));
        const Principal user { "u-1", { "USER" } };
        QVERIFY(policy->isAllowed(user, "secret.plans", Action::Read));
        QVERIFY(!policy->isAllowed(user, "secret.plans", Action::Put));
        // The configured rules replace the default: nothing else is granted to USER.
        QVERIFY(!policy->isAllowed(user, "todos", Action::Read));
        QVERIFY(policy->isAllowed(Principal { "root", { "ADMIN" } }, "todos", Action::Put));
    }

    void missingFile()
    {
        QString error;
        QVERIFY(!SecurityPolicy::fromIniFile("/nonexistent/policy.ini", &error));
        QCOMPARE(error, QStringLiteral("policy file '/nonexistent/policy.ini' not found"));
    }

    void actionNames()
    {
        QCOMPARE(SecurityPolicy::actionName(Action::Read), QStringLiteral("READ"));
        QCOMPARE(SecurityPolicy::actionName(Action::Put), QStringLiteral("PUT"));
        QCOMPARE(SecurityPolicy::actionName(Action::Remove), QStringLiteral("REMOVE"));
    }
};

QTEST_GUILESS_MAIN(tst_SecurityPolicy)
#include "tst_securitypolicy.moc"
