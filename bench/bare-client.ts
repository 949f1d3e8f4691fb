/** The cold-start yardstick: a Lambda bundle that does nothing but create a DynamoDB client. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export const client = new DynamoDBClient({});
