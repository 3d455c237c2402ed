#include "auth/SecurityPolicy.h"

#include <QFile>
#include <QSettings>

namespace wingman::auth {

namespace {

const QString kUserIdPlaceholder = QStringLiteral("{userId}");

std::optional<SecurityPolicy::Actions> parseActions(const QStringList &names, QString *problem)
{
    SecurityPolicy::Actions actions;
    for (const QString &raw : names) {
        const QString name = raw.trimmed().toUpper();
        if (name == u"READ")
            actions |= SecurityPolicy::Action::Read;
        else if (name == u"PUT")
            actions |= SecurityPolicy::Action::Put;
        else if (name == u"REMOVE")
            actions |= SecurityPolicy::Action::Remove;
        else if (name == u"ALL")
            actions |= SecurityPolicy::kAllActions;
        else if (name.isEmpty())
            continue;
        else {
            *problem = QStringLiteral("unknown action '%1' (expected READ, PUT, REMOVE or ALL)")
                           .arg(raw.trimmed());
            return std::nullopt;
        }
    }
    if (!actions) {
        *problem = QStringLiteral("no actions (expected READ, PUT, REMOVE or ALL)");
        return std::nullopt;
    }
    return actions;
}

// '*'-only glob: the literal pieces between stars must appear in order, the first anchored at
// the start and the last at the end; taking each middle piece at its leftmost match is optimal.
bool globMatches(const QStringList &pieces, QStringView name)
{
    if (pieces.size() == 1)
        return name == pieces.first();
    const QString &first = pieces.first();
    const QString &last = pieces.last();
    if (name.size() < first.size() + last.size() || !name.startsWith(first)
        || !name.endsWith(last)) {
        return false;
    }
    qsizetype from = first.size();
    const qsizetype end = name.size() - last.size();
    for (qsizetype i = 1; i + 1 < pieces.size(); ++i) {
        const qsizetype at = name.first(end).indexOf(pieces.at(i), from);
        if (at < 0)
            return false;
        from = at + pieces.at(i).size();
    }
    return true;
}

} // namespace

SecurityPolicy::SecurityPolicy()
    : m_rules { { QStringLiteral("ADMIN"), QStringLiteral("*"), kAllActions },
        { QStringLiteral("USER"), QStringLiteral("*"), kAllActions } }
{ }

SecurityPolicy::SecurityPolicy(QList<Rule> rules)
    : m_rules(std::move(rules))
{ }

std::optional<SecurityPolicy::Rule> SecurityPolicy::parseRule(
    const QString &key, const QStringList &actions, QString *error)
{
    const auto fail = [&](const QString &problem) {
        if (error)
            *error = QStringLiteral("policy '%1': %2").arg(key, problem);
        return std::nullopt;
    };
    const qsizetype slash = key.indexOf(u'/');
    if (slash < 0)
        return fail(QStringLiteral("expected ROLE/MAP_PATTERN=ACTIONS, e.g. USER/notes.*=READ"));
    Rule rule;
    rule.role = key.left(slash).trimmed();
    rule.pattern = key.mid(slash + 1).trimmed();
    if (rule.role.isEmpty())
        return fail(QStringLiteral("empty role"));
    if (rule.pattern.isEmpty())
        return fail(QStringLiteral("empty map pattern"));
    QString problem;
    const auto parsed = parseActions(actions, &problem);
    if (!parsed)
        return fail(problem);
    rule.actions = *parsed;
    return rule;
}

std::optional<SecurityPolicy> SecurityPolicy::fromSettings(
    QSettings &settings, QString *error, const QString &group)
{
    settings.beginGroup(group);
    const QStringList keys = settings.allKeys();
    QList<Rule> rules;
    for (const QString &key : keys) {
        // An empty role or pattern ("USER/", "/x") is not a valid QSettings key, so value() is
        // null for it; parseRule reports those by their shape before the value matters.
        const auto rule = parseRule(key, settings.value(key).toStringList(), error);
        if (!rule) {
            settings.endGroup();
            return std::nullopt;
        }
        rules.append(*rule);
    }
    settings.endGroup();
    if (rules.isEmpty())
        return SecurityPolicy();
    return SecurityPolicy(std::move(rules));
}

std::optional<SecurityPolicy> SecurityPolicy::fromIniFile(const QString &path, QString *error)
{
    if (!QFile::exists(path)) {
        if (error)
            *error = QStringLiteral("policy file '%1' not found").arg(path);
        return std::nullopt;
    }
    QSettings settings(path, QSettings::IniFormat);
    if (settings.status() != QSettings::NoError) {
        if (error)
            *error = QStringLiteral("policy file '%1' is not a readable INI file").arg(path);
        return std::nullopt;
    }
    return fromSettings(settings, error);
}

bool SecurityPolicy::isAllowed(
    const Principal &principal, const QString &mapName, Action action) const
{
    if (principal.hasRole(QStringLiteral("ADMIN")))
        return true;
    for (const Rule &rule : m_rules) {
        if (rule.actions.testFlag(action) && principal.hasRole(rule.role)
            && matchesPattern(rule.pattern, mapName, principal.userId)) {
            return true;
        }
    }
    return false;
}

bool SecurityPolicy::matchesPattern(
    const QString &pattern, const QString &mapName, const QString &userId)
{
    if (pattern == u"*")
        return true;
    // Stars are found before the user id goes in, so a '*' inside an id stays literal.
    QStringList pieces = pattern.split(u'*');
    for (QString &piece : pieces) {
        if (!piece.contains(kUserIdPlaceholder))
            continue;
        if (userId.isEmpty())
            return false;
        piece.replace(kUserIdPlaceholder, userId);
    }
    return globMatches(pieces, mapName);
}

QString SecurityPolicy::actionName(Action action)
{
    switch (action) {
    case Action::Read:
        return QStringLiteral("READ");
    case Action::Put:
        return QStringLiteral("PUT");
    case Action::Remove:
        return QStringLiteral("REMOVE");
    }
    return {};
}

} // namespace wingman::auth
