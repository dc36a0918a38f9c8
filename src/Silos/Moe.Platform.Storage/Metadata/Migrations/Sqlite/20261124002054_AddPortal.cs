using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Moe.Platform.Storage.Metadata.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class AddPortal : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "total_steps",
                table: "runs",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "attempts",
                table: "evaluations",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<long>(
                name: "checkpoint_step",
                table: "evaluations",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "drop_fraction",
                table: "evaluations",
                type: "REAL",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "error",
                table: "evaluations",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "exact_match",
                table: "evaluations",
                type: "REAL",
                nullable: true);

            migrationBuilder.AddColumn<DateTime>(
                name: "finished_at",
                table: "evaluations",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "max_over_mean",
                table: "evaluations",
                type: "REAL",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "project_id",
                table: "evaluations",
                type: "TEXT",
                maxLength: 64,
                nullable: false,
                defaultValue: "");

            migrationBuilder.AddColumn<Guid>(
                name: "schedule_id",
                table: "evaluations",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<DateTime>(
                name: "started_at",
                table: "evaluations",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "status",
                table: "evaluations",
                type: "TEXT",
                maxLength: 20,
                nullable: false,
                defaultValue: "");

            migrationBuilder.AddColumn<string>(
                name: "trigger",
                table: "evaluations",
                type: "TEXT",
                maxLength: 20,
                nullable: false,
                defaultValue: "");

            migrationBuilder.AddColumn<double>(
                name: "val_loss",
                table: "evaluations",
                type: "REAL",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "val_ppl",
                table: "evaluations",
                type: "REAL",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "projects",
                columns: table => new
                {
                    id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    name = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    description = table.Column<string>(type: "TEXT", nullable: true),
                    created_at = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_projects", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "run_logs",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    run_id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    attempt = table.Column<int>(type: "INTEGER", nullable: false),
                    sequence = table.Column<long>(type: "INTEGER", nullable: false),
                    at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    line = table.Column<string>(type: "TEXT", maxLength: 4000, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_run_logs", x => x.id);
                    table.ForeignKey(
                        name: "FK_run_logs_runs_run_id",
                        column: x => x.run_id,
                        principalTable: "runs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "users",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "TEXT", nullable: false),
                    user_name = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    display_name = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    password_hash = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    is_admin = table.Column<bool>(type: "INTEGER", nullable: false),
                    created_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    last_sign_in_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    disabled_at = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_users", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "evaluation_schedules",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "TEXT", nullable: false),
                    project_id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    name = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    run_id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    model_name = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    model_version = table.Column<string>(type: "TEXT", maxLength: 100, nullable: true),
                    dataset_id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    dataset_version = table.Column<int>(type: "INTEGER", nullable: true),
                    windows = table.Column<int>(type: "INTEGER", nullable: false),
                    arithmetic_problems = table.Column<int>(type: "INTEGER", nullable: false),
                    cron = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    enabled = table.Column<bool>(type: "INTEGER", nullable: false),
                    created_by = table.Column<Guid>(type: "TEXT", nullable: true),
                    created_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    last_run_at = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_evaluation_schedules", x => x.id);
                    table.ForeignKey(
                        name: "FK_evaluation_schedules_projects_project_id",
                        column: x => x.project_id,
                        principalTable: "projects",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "routing_analyses",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "TEXT", nullable: false),
                    project_id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    run_id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    checkpoint_step = table.Column<long>(type: "INTEGER", nullable: false),
                    dataset_id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    dataset_version = table.Column<int>(type: "INTEGER", nullable: false),
                    max_documents = table.Column<int>(type: "INTEGER", nullable: false),
                    status = table.Column<string>(type: "TEXT", maxLength: 20, nullable: false),
                    attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    error = table.Column<string>(type: "TEXT", nullable: true),
                    results_json = table.Column<string>(type: "TEXT", nullable: true),
                    requested_by = table.Column<Guid>(type: "TEXT", nullable: true),
                    created_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    started_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    finished_at = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_routing_analyses", x => x.id);
                    table.ForeignKey(
                        name: "FK_routing_analyses_projects_project_id",
                        column: x => x.project_id,
                        principalTable: "projects",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_routing_analyses_runs_run_id",
                        column: x => x.run_id,
                        principalTable: "runs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "api_keys",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "TEXT", nullable: false),
                    user_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    name = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    prefix = table.Column<string>(type: "TEXT", maxLength: 12, nullable: false),
                    secret_hash = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    created_at = table.Column<DateTime>(type: "TEXT", nullable: false),
                    last_used_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    expires_at = table.Column<DateTime>(type: "TEXT", nullable: true),
                    revoked_at = table.Column<DateTime>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_api_keys", x => x.id);
                    table.ForeignKey(
                        name: "FK_api_keys_users_user_id",
                        column: x => x.user_id,
                        principalTable: "users",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "project_members",
                columns: table => new
                {
                    project_id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    user_id = table.Column<Guid>(type: "TEXT", nullable: false),
                    role = table.Column<string>(type: "TEXT", maxLength: 20, nullable: false),
                    added_at = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_project_members", x => new { x.project_id, x.user_id });
                    table.ForeignKey(
                        name: "FK_project_members_projects_project_id",
                        column: x => x.project_id,
                        principalTable: "projects",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_project_members_users_user_id",
                        column: x => x.user_id,
                        principalTable: "users",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.InsertData(
                table: "projects",
                columns: new[] { "id", "created_at", "description", "name" },
                values: new object[] { "default", new DateTime(2026, 11, 24, 0, 0, 0, 0, DateTimeKind.Utc), "Runs launched without a project", "Default" });

            migrationBuilder.CreateIndex(
                name: "IX_experiments_project",
                table: "experiments",
                column: "project");

            migrationBuilder.CreateIndex(
                name: "IX_evaluations_project_id_created_at",
                table: "evaluations",
                columns: new[] { "project_id", "created_at" });

            migrationBuilder.CreateIndex(
                name: "IX_evaluations_schedule_id_created_at",
                table: "evaluations",
                columns: new[] { "schedule_id", "created_at" });

            migrationBuilder.CreateIndex(
                name: "IX_api_keys_prefix",
                table: "api_keys",
                column: "prefix",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_api_keys_user_id",
                table: "api_keys",
                column: "user_id");

            migrationBuilder.CreateIndex(
                name: "IX_evaluation_schedules_project_id",
                table: "evaluation_schedules",
                column: "project_id");

            migrationBuilder.CreateIndex(
                name: "IX_project_members_user_id",
                table: "project_members",
                column: "user_id");

            migrationBuilder.CreateIndex(
                name: "IX_routing_analyses_project_id",
                table: "routing_analyses",
                column: "project_id");

            migrationBuilder.CreateIndex(
                name: "IX_routing_analyses_run_id_checkpoint_step",
                table: "routing_analyses",
                columns: new[] { "run_id", "checkpoint_step" });

            migrationBuilder.CreateIndex(
                name: "IX_run_logs_run_id_sequence",
                table: "run_logs",
                columns: new[] { "run_id", "sequence" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_users_user_name",
                table: "users",
                column: "user_name",
                unique: true);

            migrationBuilder.AddForeignKey(
                name: "FK_evaluations_evaluation_schedules_schedule_id",
                table: "evaluations",
                column: "schedule_id",
                principalTable: "evaluation_schedules",
                principalColumn: "id",
                onDelete: ReferentialAction.SetNull);

            migrationBuilder.AddForeignKey(
                name: "FK_evaluations_projects_project_id",
                table: "evaluations",
                column: "project_id",
                principalTable: "projects",
                principalColumn: "id",
                onDelete: ReferentialAction.Cascade);

            migrationBuilder.AddForeignKey(
                name: "FK_experiments_projects_project",
                table: "experiments",
                column: "project",
                principalTable: "projects",
                principalColumn: "id",
                onDelete: ReferentialAction.Restrict);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropForeignKey(
                name: "FK_evaluations_evaluation_schedules_schedule_id",
                table: "evaluations");

            migrationBuilder.DropForeignKey(
                name: "FK_evaluations_projects_project_id",
                table: "evaluations");

            migrationBuilder.DropForeignKey(
                name: "FK_experiments_projects_project",
                table: "experiments");

            migrationBuilder.DropTable(
                name: "api_keys");

            migrationBuilder.DropTable(
                name: "evaluation_schedules");

            migrationBuilder.DropTable(
                name: "project_members");

            migrationBuilder.DropTable(
                name: "routing_analyses");

            migrationBuilder.DropTable(
                name: "run_logs");

            migrationBuilder.DropTable(
                name: "users");

            migrationBuilder.DropTable(
                name: "projects");

            migrationBuilder.DropIndex(
                name: "IX_experiments_project",
                table: "experiments");

            migrationBuilder.DropIndex(
                name: "IX_evaluations_project_id_created_at",
                table: "evaluations");

            migrationBuilder.DropIndex(
                name: "IX_evaluations_schedule_id_created_at",
                table: "evaluations");

            migrationBuilder.DropColumn(
                name: "total_steps",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "attempts",
                table: "evaluations");

            migrationBuilder.DropColumn(
                name: "checkpoint_step",
                table: "evaluations");

            migrationBuilder.DropColumn(
                name: "drop_fraction",
                table: "evaluations");

            migrationBuilder.DropColumn(
                name: "error",
                table: "evaluations");

            migrationBuilder.DropColumn(
                name: "exact_match",
                table: "evaluations");

            migrationBuilder.DropColumn(
                name: "finished_at",
                table: "evaluations");

            migrationBuilder.DropColumn(
                name: "max_over_mean",
                table: "evaluations");

            migrationBuilder.DropColumn(
                name: "project_id",
                table: "evaluations");

            migrationBuilder.DropColumn(
                name: "schedule_id",
                table: "evaluations");

            migrationBuilder.DropColumn(
                name: "started_at",
                table: "evaluations");

            migrationBuilder.DropColumn(
                name: "status",
                table: "evaluations");

            migrationBuilder.DropColumn(
                name: "trigger",
                table: "evaluations");

            migrationBuilder.DropColumn(
                name: "val_loss",
                table: "evaluations");

            migrationBuilder.DropColumn(
                name: "val_ppl",
                table: "evaluations");
        }
    }
}
