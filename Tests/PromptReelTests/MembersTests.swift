// Project members and invitations against the real PostgreSQL (Migrations/0037): the creator is the owner,
// invitations are answered once by their address, and a project always keeps an owner, even when two owners
// demote each other at the same instant.

import Foundation
import Postgres
import Synchronization
import Testing

@testable import Core

@Suite struct MembersStore {
    let db: Connection
    let owner: User
    let other: User
    let projectID: ID<Project>
    var members: Members { Members(db: db) }

    static func user(_ db: Connection, _ tag: String) throws -> User {
        let email = TestDatabase.uniqueEmail(tag)
        let id: ID<User> = try db.execute(
            "INSERT INTO users (email, password_hash) VALUES (\(email), 'not a hash') RETURNING id")[0].id("id")
        return User(id: id, email: email)
    }

    init() throws {
        db = try Connection(url: TestDatabase.url)
        owner = try Self.user(db, "owner")
        other = try Self.user(db, "other")
        projectID = try db.execute("INSERT INTO projects (user_id, name) VALUES (\(owner.id), 'Shared') RETURNING id")[
            0
        ].id("id")
    }

    @Test func theCreatorIsTheOwnerAndOthersAreNothing() throws {
        #expect(try members.role(projectID: projectID, userID: owner.id) == .owner)
        #expect(try members.role(projectID: projectID, userID: other.id) == nil)
    }

    @Test func anInvitationIsAnsweredOnceByItsAddressOnly() throws {
        let id = try members.invite(projectID: projectID, email: other.email.uppercased(), role: .editor, by: owner.id)
            .id
        // Inviting again renews the same pending invitation.
        #expect(try members.invite(projectID: projectID, email: other.email, role: .viewer, by: owner.id).id == id)
        #expect(try members.invitations(email: other.email).map(\.role) == [.viewer])
        let stranger = try Self.user(db, "stranger")
        #expect(try members.accept(id: id, user: stranger) == nil)
        #expect(try members.accept(id: id, user: other) == projectID)
        #expect(try members.accept(id: id, user: other) == nil)
        #expect(try members.decline(id: id, user: other) == false)
        #expect(try members.role(projectID: projectID, userID: other.id) == .viewer)
        #expect(try members.pendingInvitations(projectID: projectID).isEmpty)
    }

    @Test func anExpiredOrRevokedInvitationCannotBeAccepted() throws {
        let late = try members.invite(projectID: projectID, email: other.email, role: .editor, by: owner.id).id
        try db.execute("UPDATE project_invitations SET expires_at = now() - interval '1 second' WHERE id = \(late)")
        #expect(try members.accept(id: late, user: other) == nil)
        let revoked = try members.invite(projectID: projectID, email: other.email, role: .editor, by: owner.id).id
        #expect(try members.revoke(id: revoked, projectID: projectID))
        #expect(try members.accept(id: revoked, user: other) == nil)
    }

    @Test func acceptingNeverLowersARole() throws {
        let id = try members.invite(projectID: projectID, email: owner.email, role: .viewer, by: owner.id).id
        #expect(try members.accept(id: id, user: owner) == projectID)
        #expect(try members.role(projectID: projectID, userID: owner.id) == .owner)
    }

    @Test func theLastOwnerCannotGo() throws {
        #expect(try members.setRole(projectID: projectID, userID: owner.id, .editor) == .lastOwner)
        #expect(try members.remove(projectID: projectID, userID: owner.id) == .lastOwner)
        #expect(try members.role(projectID: projectID, userID: owner.id) == .owner)
    }

    @Test func twoOwnersDemotingEachOtherAtOnceLeaveOne() throws {
        let id = try members.invite(projectID: projectID, email: other.email, role: .owner, by: owner.id).id
        #expect(try members.accept(id: id, user: other) == projectID)
        let (a, b) = (owner.id, other.id)
        let project = projectID
        let url = TestDatabase.url
        let outcomes = Mutex<[Members.Change]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            guard let db = try? Connection(url: url) else { return }
            let change = try? Members(db: db).setRole(projectID: project, userID: i == 0 ? a : b, .viewer)
            outcomes.withLock { $0.append(change ?? .notFound) }
        }
        #expect(outcomes.withLock { $0.sorted { "\($0)" < "\($1)" } } == [.done, .lastOwner])
        let owners = try db.execute(
            "SELECT count(*) AS n FROM project_members WHERE project_id = \(projectID) AND role = 'owner'")[0].int("n")
        #expect(owners == 1)
    }
}
