/**
 * The package entry for other CDK apps: the pipeline as one construct (`MedallionPipeline`: the platform
 * stack and one stack per domain), its stacks, the L3 constructs they compose, and the configuration parser.
 */
export { BronzeToSilverPipeline, type BronzeToSilverPipelineProps } from './bronze-to-silver-pipeline';
export { type MedallionConfig, parseMedallionConfig } from './config';
export { CostGuardrails, type CostGuardrailsProps } from './cost-guardrails';
export { DataCatalog, type DataCatalogProps } from './data-catalog';
export { DatasetTables, type DatasetTablesProps } from './dataset-tables';
export { DomainStack, type DomainStackProps, domainStackName } from './domain-stack';
export {
  RedshiftServerlessGold,
  type RedshiftServerlessGoldProps,
} from './gold/redshift-serverless';
export { IngestApi, type IngestApiProps } from './ingest-api';
export { LakeStorage, type LakeStorageProps } from './lake-storage';
export { MedallionFunction, type MedallionFunctionProps } from './medallion-function';
export { MedallionPipeline, type MedallionPipelineProps } from './medallion-pipeline';
export { DomainMonitoring, type DomainMonitoringProps } from './monitoring/domain-monitoring';
export { PipelineMonitoring, type PipelineMonitoringProps } from './monitoring/pipeline-monitoring';
export { PlatformStack, type PlatformStackProps } from './platform-stack';
export { Reconciler, type ReconcilerProps } from './reconciler';
