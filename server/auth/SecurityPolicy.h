#pragma once

#include "auth/Principal.h"

#include <QFlags>
#include <QList>
#include <QString>
#include <QStringList>
#include <optional>

class QSettings;

namespace wingman::auth {

// Who may do what to which map: a list of allow rules, each a role, a map-name pattern and a set
// of actions. A principal may perform an action on a map when one of its roles has a rule whose
// pattern matches the map name and whose actions include that action; nothing else is allowed.
// The ADMIN role may do everything, whatever the rules say (as in TopGun).
//
// Patterns: '*' matches any run of characters (also '.' and nothing), everything else matches
// itself, case-sensitively; "{userId}" stands for the principal's user id, taken literally.
// Examples: "*", "users.*", "notes-{userId}", "a*b".
//
// INI format, one rule per key in the [policies] group:
//
//     [policies]
//     USER/*=READ
//     USER/notes.*=READ,PUT,REMOVE
//     USER/users.{userId}=ALL
//     GUEST/public.*=READ
//
// The key is ROLE/PATTERN (split at the first '/', so patterns may contain '/'); the value is a
// comma-separated list of READ, PUT, REMOVE or ALL (case-insensitive). A [policies] group with
// rules replaces the default policy; without one, ADMIN and USER may do everything.
class SecurityPolicy
{
public:
    enum class Action { Read = 0x1, Put = 0x2, Remove = 0x4 };
    Q_DECLARE_FLAGS(Actions, Action)
    static constexpr Actions kAllActions = Actions(0x7);

    struct Rule {
        QString role;
        QString pattern;
        Actions actions;
        friend bool operator==(const Rule &, const Rule &) = default;
    };

    // The default policy: ADMIN and USER may do everything on every map.
    SecurityPolicy();
    explicit SecurityPolicy(QList<Rule> rules);

    // Reads the rules of one INI group; the default policy when the group has no keys.
    // Returns nullopt and sets *error (naming the entry) on a bad entry.
    static std::optional<SecurityPolicy> fromSettings(
        QSettings &settings, QString *error, const QString &group = QStringLiteral("policies"));
    static std::optional<SecurityPolicy> fromIniFile(const QString &path, QString *error);
    // One rule from a ROLE/PATTERN key and its action list; nullopt and *error when invalid.
    static std::optional<Rule> parseRule(
        const QString &key, const QStringList &actions, QString *error);

    bool isAllowed(const Principal &principal, const QString &mapName, Action action) const;
    const QList<Rule> &rules() const { return m_rules; }

    // Whether mapName matches a rule pattern, with "{userId}" replaced by userId.
    static bool matchesPattern(
        const QString &pattern, const QString &mapName, const QString &userId = {});
    static QString actionName(Action action);

private:
    QList<Rule> m_rules;
};

Q_DECLARE_OPERATORS_FOR_FLAGS(SecurityPolicy::Actions)

} // namespace wingman::auth
