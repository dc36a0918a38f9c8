using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Moe.Platform.Storage.Metadata;

/// <summary>Stores DateTime as UTC and reads it back with Kind = Utc (SQLite keeps no kind; Npgsql rejects non-UTC).</summary>
public sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(
    value => value.Kind == DateTimeKind.Utc ? value : value.ToUniversalTime(),
    value => DateTime.SpecifyKind(value, DateTimeKind.Utc));
