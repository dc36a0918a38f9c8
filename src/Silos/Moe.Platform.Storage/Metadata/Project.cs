namespace Moe.Platform.Storage.Metadata;

/// <summary>
/// A tenant of the portal: experiments (and through them runs, checkpoints and evaluations) belong to one project, and
/// people see a project's work only with a role in it. The "default" project always exists (seeded), so the embedded
/// default and `moe-silo launch` need no setup.
/// </summary>
public class Project
{
    public const int MaxIdLength = 64;
    public const string DefaultId = "default";

    public required string Id { get; set; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    public DateTime CreatedAt { get; set; } = DateTime.UtcNow;

    public List<ProjectMember> Members { get; set; } = [];
}

/// <summary>What a member may do in a project; each role includes the ones below it.</summary>
public enum ProjectRole
{
    /// <summary>Reads runs, metrics, checkpoints and evaluations.</summary>
    Viewer = 0,
    /// <summary>Also creates experiments, launches, cancels and resumes runs, uploads data, promotes, schedules evaluations.</summary>
    Member = 1,
    /// <summary>Also manages the project's members.</summary>
    Admin = 2,
}

public class ProjectMember
{
    public required string ProjectId { get; set; }
    public Guid UserId { get; set; }
    public ProjectRole Role { get; set; }
    public DateTime AddedAt { get; set; } = DateTime.UtcNow;

    public User? User { get; set; }
}
