#pragma once

#include <QCborMap>
#include <QList>
#include <QMap>
#include <QString>

#include <optional>

namespace wingman::cluster {

// docs/cluster.md §2.
enum class MemberState { Joining, Up, Suspect, Down, Leaving, Left };
QString memberStateName(MemberState state);
std::optional<MemberState> memberStateFromName(QStringView name);

// One member as gossiped in MEMBERS.
struct MemberInfo {
    QString nodeId;
    QString clusterAddress; // host:port the others dial
    QString clientEndpoint; // ws://host:port
    MemberState state = MemberState::Joining;
    qint64 incarnation = 0;

    QCborMap toCbor() const;
    static std::optional<MemberInfo> fromCbor(const QCborMap &map);
    friend bool operator==(const MemberInfo &, const MemberInfo &) = default;
};

// The member list one node holds, and the SWIM merge rule over it. Pure: no clocks, no sockets.
class Membership
{
public:
    enum class Outcome {
        Unchanged,
        Changed, // what this node holds about that member changed
        Refuted, // gossip doubted this node: its incarnation went up (self() changed)
    };

    explicit Membership(MemberInfo self);

    const MemberInfo &self() const { return *m_members.constFind(m_selfId); }
    const MemberInfo *find(const QString &nodeId) const;
    // Every member, this node included, sorted by id.
    QList<MemberInfo> all() const { return m_members.values(); }
    // Members known, this node included.
    qsizetype size() const { return m_members.size(); }

    // Whether `incoming` replaces `held` (same member): the higher incarnation wins; at equal
    // incarnations the graver state does (left > down = leaving > suspect > up > joining).
    static bool supersedes(const MemberInfo &incoming, const MemberInfo &held);

    // Merges gossip about one member. About this node, only doubt counts: suspect, down, leaving
    // or left at an incarnation not below ours is refuted by raising ours past it.
    Outcome apply(const MemberInfo &gossip);
    // This node's own opinion of another member (suspect, down, left) at the incarnation it
    // holds; false when unknown or unchanged.
    bool mark(const QString &nodeId, MemberState state);
    // This node changes its own state (joining → up, → leaving): a new incarnation, so that the
    // change outranks whatever the others hold.
    void setSelfState(MemberState state);
    void setSelfAddresses(const QString &clusterAddress, const QString &clientEndpoint);
    void forget(const QString &nodeId);

private:
    QString m_selfId;
    QMap<QString, MemberInfo> m_members;
};

} // namespace wingman::cluster
