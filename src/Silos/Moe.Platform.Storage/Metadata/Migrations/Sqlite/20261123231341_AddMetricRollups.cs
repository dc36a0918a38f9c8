using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Moe.Platform.Storage.Metadata.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class AddMetricRollups : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "metric_rollups",
                columns: table => new
                {
                    series_id = table.Column<long>(type: "INTEGER", nullable: false),
                    level = table.Column<int>(type: "INTEGER", nullable: false),
                    bucket = table.Column<long>(type: "INTEGER", nullable: false),
                    first_step = table.Column<long>(type: "INTEGER", nullable: false),
                    last_step = table.Column<long>(type: "INTEGER", nullable: false),
                    min_value = table.Column<double>(type: "REAL", nullable: true),
                    max_value = table.Column<double>(type: "REAL", nullable: true),
                    last_value = table.Column<double>(type: "REAL", nullable: true),
                    count = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_metric_rollups", x => new { x.series_id, x.level, x.bucket });
                    table.ForeignKey(
                        name: "FK_metric_rollups_metric_series_series_id",
                        column: x => x.series_id,
                        principalTable: "metric_series",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "metric_rollups");
        }
    }
}
