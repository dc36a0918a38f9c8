using System.Text;
using Microsoft.EntityFrameworkCore;

namespace Moe.Platform.Storage.Metadata;

/// <summary>
/// Keys, indexes, relations and names of the metadata schema. Names are snake_case so hand-written SQL (the metrics
/// store) and psql need no quoting. Differences between providers are only column types (jsonb on PostgreSQL).
/// </summary>
static class PlatformDbModel
{
    public static void Configure(ModelBuilder model, bool postgres)
    {
        string json = postgres ? "jsonb" : "TEXT";

        model.Entity<Experiment>(e =>
        {
            e.Property(x => x.Id).HasMaxLength(Experiment.MaxIdLength);
            e.HasIndex(x => x.Name).IsUnique();
            e.Property(x => x.Name).HasMaxLength(200);
            e.Property(x => x.Project).HasMaxLength(Project.MaxIdLength);
        });

        model.Entity<Dataset>(e =>
        {
            e.Property(x => x.Id).HasMaxLength(Dataset.MaxIdLength);
            e.HasIndex(x => x.Name).IsUnique();
            e.Property(x => x.Name).HasMaxLength(200);
            e.HasMany(x => x.Versions).WithOne(v => v.Dataset).HasForeignKey(v => v.DatasetId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<DatasetVersion>(e =>
        {
            e.HasIndex(x => new { x.DatasetId, x.Version }).IsUnique();
            e.Property(x => x.Status).HasConversion<string>().HasMaxLength(20);
            e.Property(x => x.SourcesJson).HasColumnType(json);
        });

        model.Entity<Run>(e =>
        {
            e.Property(x => x.Id).HasMaxLength(Run.MaxIdLength);
            e.HasIndex(x => new { x.ExperimentId, x.CreatedAt }); // an experiment's runs, newest first
            e.HasIndex(x => new { x.Status, x.Priority }); // the portal's queue view
            e.Property(x => x.Name).HasMaxLength(200);
            e.Property(x => x.Status).HasMaxLength(40);
            e.Property(x => x.ConfigJson).HasColumnType(json);
            e.Property(x => x.Version).IsConcurrencyToken();
            e.HasOne(x => x.Experiment).WithMany(x => x.Runs).HasForeignKey(x => x.ExperimentId).OnDelete(DeleteBehavior.Restrict);
            e.HasMany(x => x.Transitions).WithOne().HasForeignKey(t => t.RunId).OnDelete(DeleteBehavior.Cascade);
            e.HasMany(x => x.Checkpoints).WithOne().HasForeignKey(c => c.RunId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<RunTransition>(e =>
        {
            e.HasIndex(x => new { x.RunId, x.Sequence }).IsUnique();
            e.Property(x => x.From).HasMaxLength(40);
            e.Property(x => x.To).HasMaxLength(40);
        });

        model.Entity<MetricSeries>(e =>
        {
            e.ToTable(MetricTables.Series);
            e.HasIndex(x => new { x.RunId, x.Name }).IsUnique();
            e.Property(x => x.Name).HasMaxLength(200);
            e.HasOne<Run>().WithMany().HasForeignKey(x => x.RunId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<MetricSample>(e =>
        {
            e.ToTable(MetricTables.Samples);
            e.HasKey(x => new { x.SeriesId, x.Step }); // the upsert's conflict target and the range scan's index
            e.HasOne<MetricSeries>().WithMany().HasForeignKey(x => x.SeriesId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<MetricRollup>(e =>
        {
            e.ToTable(MetricTables.Rollups);
            e.HasKey(x => new { x.SeriesId, x.Level, x.Bucket });
            e.HasOne<MetricSeries>().WithMany().HasForeignKey(x => x.SeriesId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<Checkpoint>(e =>
        {
            e.HasIndex(x => new { x.RunId, x.Step }).IsUnique();
            e.Property(x => x.ManifestSha256).HasMaxLength(64);
            // A checkpoint behind a model version must not vanish under retention.
            e.HasMany(x => x.ModelVersions).WithOne(m => m.Checkpoint).HasForeignKey(m => m.CheckpointId).OnDelete(DeleteBehavior.Restrict);
        });

        model.Entity<ModelVersion>(e =>
        {
            e.HasIndex(x => new { x.Name, x.Version }).IsUnique();
            e.Property(x => x.Name).HasMaxLength(200);
        });

        model.Entity<ModelAlias>(e =>
        {
            e.HasKey(x => new { x.ModelName, x.Alias });
            e.Property(x => x.ModelName).HasMaxLength(200);
            e.Property(x => x.Alias).HasMaxLength(100);
            e.HasOne(x => x.ModelVersion).WithMany().HasForeignKey(x => x.ModelVersionId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<GrainState>(e =>
        {
            e.HasKey(x => new { x.GrainType, x.GrainId });
            e.Property(x => x.ETag).IsConcurrencyToken().HasMaxLength(64);
        });

        PortalDbModel.Configure(model, json);

        // Foreign keys to string ids get the same length as the key they reference.
        foreach (var entity in model.Model.GetEntityTypes())
            foreach (var property in entity.GetProperties())
                if (property.Name is "RunId" or "ExperimentId") property.SetMaxLength(Run.MaxIdLength);
                else if (property.Name == "DatasetId") property.SetMaxLength(Dataset.MaxIdLength);
                else if (property.Name == "ProjectId") property.SetMaxLength(Project.MaxIdLength);

        UseSnakeCaseNames(model);
    }

    static void UseSnakeCaseNames(ModelBuilder model)
    {
        foreach (var entity in model.Model.GetEntityTypes())
        {
            if (entity.GetTableName() is { } table) entity.SetTableName(SnakeCase(table));
            foreach (var property in entity.GetProperties()) property.SetColumnName(SnakeCase(property.Name));
        }
    }

    /// <summary>"ModelVersions" -> "model_versions", "ETag" -> "etag", "ManifestSha256" -> "manifest_sha256".</summary>
    public static string SnakeCase(string name)
    {
        var text = new StringBuilder(name.Length + 8);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            bool boundary = i > 0 && char.IsUpper(c)
                && (char.IsLower(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1]) && char.IsUpper(name[i - 1]) && i > 1));
            if (boundary) text.Append('_');
            text.Append(char.ToLowerInvariant(c));
        }
        return text.ToString();
    }
}
