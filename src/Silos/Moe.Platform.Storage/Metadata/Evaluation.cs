namespace Moe.Platform.Storage.Metadata;

/// <summary>Placeholder for scheduled evaluations (part 4): results of a run or a model version, as JSON.</summary>
public class Evaluation
{
    public Guid Id { get; set; } = Guid.NewGuid();
    public string? RunId { get; set; }
    public Guid? ModelVersionId { get; set; }
    public required string Name { get; set; }
    public string ResultsJson { get; set; } = "{}";
    public DateTime CreatedAt { get; set; } = DateTime.UtcNow;
}
