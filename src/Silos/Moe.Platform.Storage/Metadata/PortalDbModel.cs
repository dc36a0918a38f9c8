using Microsoft.EntityFrameworkCore;

namespace Moe.Platform.Storage.Metadata;

/// <summary>The portal's part of the schema: projects, users and API keys, evaluations, routing analyses, run logs.</summary>
static class PortalDbModel
{
    // A fixed time, so the seed row does not change the model (and ask for a migration) on every build.
    static readonly DateTime SeededAt = new(2026, 11, 24, 0, 0, 0, DateTimeKind.Utc);

    public static void Configure(ModelBuilder model, string json)
    {
        model.Entity<Project>(e =>
        {
            e.Property(x => x.Id).HasMaxLength(Project.MaxIdLength);
            e.Property(x => x.Name).HasMaxLength(200);
            e.HasMany(x => x.Members).WithOne().HasForeignKey(m => m.ProjectId).OnDelete(DeleteBehavior.Cascade);
            e.HasData(new Project { Id = Project.DefaultId, Name = "Default", Description = "Runs launched without a project", CreatedAt = SeededAt });
        });

        model.Entity<ProjectMember>(e =>
        {
            e.HasKey(x => new { x.ProjectId, x.UserId });
            e.HasIndex(x => x.UserId);
            e.Property(x => x.Role).HasConversion<string>().HasMaxLength(20);
            e.HasOne(x => x.User).WithMany(u => u.Memberships).HasForeignKey(x => x.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<User>(e =>
        {
            e.HasIndex(x => x.UserName).IsUnique();
            e.Property(x => x.UserName).HasMaxLength(User.MaxUserNameLength);
            e.Property(x => x.DisplayName).HasMaxLength(200);
            e.Property(x => x.PasswordHash).HasMaxLength(200);
        });

        model.Entity<ApiKey>(e =>
        {
            e.HasIndex(x => x.Prefix).IsUnique();
            e.HasIndex(x => x.UserId);
            e.Property(x => x.Name).HasMaxLength(200);
            e.Property(x => x.Prefix).HasMaxLength(ApiKey.PrefixLength);
            e.Property(x => x.SecretHash).HasMaxLength(64);
            e.HasOne(x => x.User).WithMany().HasForeignKey(x => x.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<Experiment>(e =>
            e.HasOne<Project>().WithMany().HasForeignKey(x => x.Project).OnDelete(DeleteBehavior.Restrict));

        model.Entity<EvaluationSchedule>(e =>
        {
            e.HasIndex(x => x.ProjectId);
            e.Property(x => x.Name).HasMaxLength(200);
            e.Property(x => x.ModelName).HasMaxLength(200);
            e.Property(x => x.ModelVersion).HasMaxLength(100);
            e.Property(x => x.Cron).HasMaxLength(100);
            e.HasOne<Project>().WithMany().HasForeignKey(x => x.ProjectId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<Evaluation>(e =>
        {
            e.Property(x => x.ResultsJson).HasColumnType(json);
            e.Property(x => x.Status).HasConversion<string>().HasMaxLength(20);
            e.Property(x => x.Trigger).HasMaxLength(20);
            e.HasIndex(x => new { x.ScheduleId, x.CreatedAt });
            e.HasIndex(x => new { x.ProjectId, x.CreatedAt });
            e.HasIndex(x => x.RunId);
            e.HasIndex(x => x.ModelVersionId);
            e.HasOne<Run>().WithMany().HasForeignKey(x => x.RunId).OnDelete(DeleteBehavior.SetNull);
            e.HasOne<ModelVersion>().WithMany().HasForeignKey(x => x.ModelVersionId).OnDelete(DeleteBehavior.SetNull);
            e.HasOne<EvaluationSchedule>().WithMany().HasForeignKey(x => x.ScheduleId).OnDelete(DeleteBehavior.SetNull);
            e.HasOne<Project>().WithMany().HasForeignKey(x => x.ProjectId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<RoutingAnalysis>(e =>
        {
            e.Property(x => x.ResultsJson).HasColumnType(json);
            e.Property(x => x.Status).HasConversion<string>().HasMaxLength(20);
            e.HasIndex(x => new { x.RunId, x.CheckpointStep });
            e.HasOne<Run>().WithMany().HasForeignKey(x => x.RunId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<Project>().WithMany().HasForeignKey(x => x.ProjectId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<RunLogLine>(e =>
        {
            e.ToTable("run_logs");
            e.HasIndex(x => new { x.RunId, x.Sequence }).IsUnique();
            e.Property(x => x.Line).HasMaxLength(RunLogLine.MaxLineLength);
            e.HasOne<Run>().WithMany().HasForeignKey(x => x.RunId).OnDelete(DeleteBehavior.Cascade);
        });
    }
}
